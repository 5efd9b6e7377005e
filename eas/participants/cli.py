from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from eas.core.db import db
from eas.participants.csv_import import CsvInvalid, parse_participants_csv
from eas.participants.operations import import_participants
from eas.studies.operations import get_study

participants_cli = AppGroup("participants", help="Enroll and manage participants.")


@participants_cli.command("import")
@click.argument("study_id")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False))
def import_command(study_id: str, csv_path: str) -> None:
    """Enroll participants from a CSV (label, phone, timezone[, wake, sleep, start_date, channel]).

    Nothing is imported unless every row is good; rows already enrolled are left as they are.
    """
    study = get_study(study_id)
    if study is None or study.current_version is None:
        raise click.ClickException(f"no study '{study_id}'; create it with `eas study create`")
    try:
        text = Path(csv_path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_path}: not UTF-8 text; save the CSV as UTF-8") from None
    try:
        parsed = parse_participants_csv(
            text, study.current_version.definition, current_app.config["EAS_DEFAULT_PHONE_REGION"]
        )
        result = import_participants(study, parsed, actor="cli")
    except CsvInvalid as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(error.format(csv_path))
        click.echo(f"{csv_path}: {len(exc.errors)} error(s); nobody was imported", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(
        f"{study.slug}: enrolled {len(result.created)} participant(s); "
        f"{len(result.unchanged)} already enrolled and unchanged"
    )
