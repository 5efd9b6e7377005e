from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.core.db import begin_write, db
from eas.protocols.validation import ProtocolInvalid, validate_protocol_file
from eas.scheduling.planner import PlanningError
from eas.studies.models import Study
from eas.studies.operations import publish_protocol

study_cli = AppGroup("study", help="Create studies and publish protocol versions.")


@study_cli.command("create")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def create_command(path: str) -> None:
    """Create the study of a protocol file, or publish it as the study's next version."""
    try:
        protocol = validate_protocol_file(path)
    except ProtocolInvalid as exc:
        for error in exc.errors:
            click.echo(str(error))
        raise SystemExit(1) from None
    for warning in protocol.warnings:
        click.echo(f"warning: {warning}", err=True)
    begin_write()
    try:
        result = publish_protocol(protocol)
    except PlanningError as exc:
        db.session.rollback()
        raise click.ClickException(f"not published: {exc}") from None
    db.session.commit()
    slug, number = result.study.slug, result.version.number
    if result.study_created:
        click.echo(f"created study {slug} with protocol version {number}")
    elif result.created:
        click.echo(
            f"published protocol version {number} of study {slug}: "
            f"{result.prompts_cancelled} future prompts replaced by {result.prompts_planned}"
        )
    else:
        click.echo(f"study {slug} unchanged: {path} is already its current version ({number})")


@study_cli.command("list")
def list_command() -> None:
    """List studies with their current protocol version and number of participants."""
    studies = db.session.scalars(sa.select(Study).order_by(Study.slug)).all()
    if not studies:
        click.echo("no studies yet: `eas study create protocols/<file>.yaml`")
    for study in studies:
        version = study.current_version
        click.echo(
            f"{study.slug}\tv{version.number if version else '-'}\t"
            f"{len(study.participants)} participants\t{study.title}"
        )


@study_cli.command("purge-identifiers")
@click.argument("study_id")
@click.option("--yes", is_flag=True, help="Do it without asking (scripts).")
def purge_identifiers_command(study_id: str, yes: bool) -> None:
    """After the study has ended: remove every participant's phone number for good, keeping
    the pseudonymous dataset. Refused while prompts are still to be sent."""
    from eas.core.clock import now_utc
    from eas.safety.retention import StudyStillRunning, purge_identifiers
    from eas.studies.operations import get_study

    begin_write()
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study '{study_id}'")
    if not yes:
        click.confirm(
            f"Remove every phone number of {study_id} for good? Nobody can be texted again",
            abort=True,
        )
    try:
        count = purge_identifiers(study, now_utc(), actor="cli")
    except StudyStillRunning as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"{study_id}: phone numbers of {count} participant(s) removed for good")
