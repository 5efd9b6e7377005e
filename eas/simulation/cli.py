from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click
from flask.cli import with_appcontext

from eas.protocols.validation import ProtocolInvalid
from eas.simulation.run import DEFAULT_START, DEFAULT_ZONES, run_simulation

#: Participants simulated unless told: a pilot, and a demo study's history.
PILOT_PARTICIPANTS = 20
HISTORY_PARTICIPANTS = 8


@click.command("simulate")
@click.argument(
    "protocol", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--participants",
    type=click.IntRange(1, 5000),
    help=f"Synthetic participants [default: {PILOT_PARTICIPANTS}; "
    f"{HISTORY_PARTICIPANTS} with --into].",
)
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--out",
    # Made absolute here, once: the report's paths printed at the end are then the pilot's
    # wherever they are read from.
    type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    help="A new folder for the pilot.",
)
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
@click.option(
    "--into",
    "study_slug",
    metavar="STUDY",
    help="Instead of a pilot: give this study of the instance's own database a simulated "
    "history (demo instances only; nothing is added when it has one).",
)
@click.option(
    "--history-days",
    default=3,
    show_default=True,
    type=click.IntRange(1, 30),
    help="With --into: how many days before today the synthetic participants started.",
)
@click.option(
    "--group-size",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Pilot a dyadic or family design: consecutive participants form groups of this size "
    "(2: couples), who share their random prompt times.",
)
@with_appcontext
def simulate_command(
    protocol,
    participants,
    days,
    seed,
    out,
    start,
    timezones,
    study_slug,
    history_days,
    group_size,
) -> None:
    """Pilot a protocol in virtual time with synthetic participants, through the real planner,
    dispatcher, SMS conversation and web pages; writes the export package and a pilot report
    (report.html, report.json) to OUT. A pilot never touches the instance's database.

    With --into STUDY instead of a protocol: synthetic participants sim-001, sim-002... join
    the instance's STUDY --history-days ago and are simulated the same way up to now, then
    paused, so a demo dashboard has data."""
    if study_slug is not None:
        if protocol is not None or out is not None:
            raise click.UsageError("--into takes neither a PROTOCOL nor --out")
        _history(study_slug, history_days, participants or HISTORY_PARTICIPANTS, seed)
        return
    if protocol is None or out is None:
        raise click.UsageError("a pilot needs a PROTOCOL and --out (or use --into STUDY)")
    _pilot(
        protocol, participants or PILOT_PARTICIPANTS, days, seed, out, start, timezones, group_size
    )


def _pilot(protocol, participants, days, seed, out, start, timezones, group_size=1) -> None:
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
            start=first_day, zones=zones, progress=progress, group_size=group_size,
        )  # fmt: skip
    except ProtocolInvalid as invalid:
        raise click.ClickException(str(invalid)) from None
    data, html = write_report(out, build_report(result.export, result.facts))
    click.echo(
        f"\nsimulated {participants} participants x {days} days in {result.seconds:.0f} s: "
        f"{result.truth.texts_sent} texts from participants; export in {result.export}, "
        f"report {html} and {data}"
    )


def _history(slug: str, days: int, participants: int, seed: int) -> None:
    from eas.core.clock import now_utc
    from eas.simulation.history import HistoryError, add_history
    from eas.studies.operations import get_study

    study = get_study(slug)
    if study is None:
        raise click.ClickException(f"no study '{slug}'")
    try:
        history = add_history(study, days=days, participants=participants, seed=seed, now=now_utc())
    except HistoryError as error:
        raise click.ClickException(str(error)) from None
    if not history.added:
        click.echo(f"{slug} already has its simulated history ({history.participants} sim-… "
                   "participants): nothing added")  # fmt: skip
        return
    click.echo(
        f"{slug}: {history.participants} synthetic participants (sim-001...) over the last "
        f"{days} days: {history.prompts} prompts sent, {history.answers} answers, "
        f"{history.alerts} safety alerts; paused from now on"
    )
