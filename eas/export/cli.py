from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from eas.core.clock import now_utc
from eas.core.db import db
from eas.export.archive import read_snapshot, record_export
from eas.export.operations import export_study
from eas.export.stats_files import write_stats_files
from eas.studies.operations import get_study


@click.command("export")
@with_appcontext
@click.argument("study_id")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv")
@click.option("--wide", is_flag=True, help="Also one wide table per questionnaire (openESM).")
@click.option("--since", type=click.DateTime(), help="Only prompts due from this UTC time on.")
@click.option("--sav", is_flag=True, help="Also SPSS files of the wide tables (stats extra).")
@click.option("--dta", is_flag=True, help="Also Stata files of the wide tables (stats extra).")
def export_command(
    study_id: str, out: Path, fmt: str, wide: bool, since: datetime | None, sav: bool, dta: bool
) -> None:
    """Export a study as a Frictionless data package (tidy longitudinal tables)."""
    formats = [name for name, wanted in (("sav", sav), ("dta", dta)) if wanted]
    if formats and fmt != "csv":  # before anything is written
        raise click.ClickException("--sav and --dta are made from the CSV export: drop --format")
    with read_snapshot():  # every table from one state of the database
        study = get_study(study_id)
        if study is None:
            raise click.ClickException(f"no study '{study_id}'")
        if out.exists() and any(out.iterdir()):
            raise click.ClickException(f"{out} is not empty: export into a new folder")
        total = len(study.participants)
        with click.progressbar(
            length=total, label="Exporting participants", file=sys.stderr
        ) as bar:
            result = export_study(
                study,
                out,
                now=now_utc(),
                fmt=fmt,
                wide=wide or sav or dta,
                since=since.replace(tzinfo=UTC) if since else None,
                progress=bar.update if sys.stderr.isatty() else None,
            )
    if formats:
        try:
            write_stats_files(out, study.current_version.definition["questionnaires"], formats)
        except RuntimeError as problem:
            raise click.ClickException(str(problem)) from None
    record_export(study, result, fmt=fmt, actor="cli", via="cli")
    db.session.commit()
    summary = ", ".join(f"{name} {rows}" for name, rows in result.rows.items())
    click.echo(f"exported {study_id} to {out}: {summary}")
