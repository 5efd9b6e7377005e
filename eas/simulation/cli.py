from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from eas.protocols.validation import ProtocolInvalid
from eas.simulation.run import DEFAULT_START, DEFAULT_ZONES, run_simulation


@click.command("simulate")
@click.argument("protocol", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--participants", default=20, show_default=True, type=click.IntRange(1, 5000))
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help=f"First study day (default {DEFAULT_START}, with a clock change inside two weeks).",
)
@click.option(
    "--timezones",
    default=",".join(DEFAULT_ZONES),
    show_default=True,
    help="Comma-separated IANA zones the synthetic participants are spread over.",
)
def simulate_command(protocol, participants, days, seed, out, start, timezones) -> None:
    """Pilot a protocol in virtual time with synthetic participants, through the real planner,
    dispatcher, SMS conversation and web pages; writes the export package and a pilot report
    (report.html, report.json) to OUT. Nothing touches the real database."""
    from eas.simulation.report import build_report, write_report

    zones = [zone.strip() for zone in timezones.split(",") if zone.strip()]
    first_day: date = start.date() if start else DEFAULT_START
    if out.exists() and any(p.name != "simulation.sqlite3" for p in out.iterdir()):
        raise click.ClickException(f"{out} is not empty: simulate into a new folder")

    def progress(now) -> None:
        if sys.stderr.isatty():
            click.echo(f"\rsimulating {now:%Y-%m-%d %H:%M} UTC", nl=False, err=True)

    try:
        result = run_simulation(
            protocol, out, participants=participants, days=days, seed=seed,
            start=first_day, zones=zones, progress=progress,
        )  # fmt: skip
    except ProtocolInvalid as invalid:
        raise click.ClickException(str(invalid)) from None
    data, html = write_report(out, build_report(result.export, result.facts))
    click.echo(
        f"\nsimulated {participants} participants x {days} days in {result.seconds:.0f} s: "
        f"{result.truth.texts_sent} texts from participants; export in {result.export}, "
        f"report {html} and {data}"
    )
