from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.participants.models import Participant
from eas.safety.models import AlertStatus, SafetyAlert
from eas.safety.notify import mail_configured, team_told
from eas.safety.operations import AlertError, acknowledge, acting_member
from eas.studies.operations import get_study

alerts_cli = AppGroup("alerts", help="Safety alerts: see them, acknowledge them.")


def _study(study_id: str):
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study '{study_id}'")
    return study


@alerts_cli.command("list")
@click.argument("study_id")
@click.option("--all", "show_all", is_flag=True, help="Acknowledged alerts too.")
def list_command(study_id: str, show_all: bool) -> None:
    """Open safety alerts, oldest first, by their number in the study, with whether the team
    was told."""
    study = _study(study_id)
    query = (
        sa.select(SafetyAlert, Participant.label)
        .join(Participant, Participant.id == SafetyAlert.participant_id)
        .where(SafetyAlert.study_id == study.id)
        .order_by(SafetyAlert.number)
    )
    if not show_all:
        query = query.where(SafetyAlert.status == AlertStatus.open)
    rows = db.session.execute(query).all()
    if not rows:
        click.echo("no open alerts" if not show_all else "no alerts")
    mail = mail_configured()
    for alert, label in rows:
        ack = (
            f"acknowledged by {alert.acknowledged_by} {alert.acknowledged_at:%Y-%m-%d %H:%M}"
            f" UTC: {alert.acknowledged_note or '(no note)'}"
            if alert.status is AlertStatus.acknowledged
            else "OPEN"
        )
        told = team_told(alert, mail, check="the team sees it only here and on the study page")
        click.echo(
            f"{alert.number}\t{alert.raised_at:%Y-%m-%d %H:%M} UTC\t{label}\t{alert.rule}"
            f"\t{alert.trigger}/{alert.channel}\t{ack}\t{told}"
        )


@alerts_cli.command("ack")
@click.argument("study_id")
@click.argument("number", type=int)
@click.option(
    "--by",
    "by",
    required=True,
    help="The e-mail address of your account (a coordinator or owner of the study).",
)
@click.option(
    "--note", required=True, help="What was done, e.g. 'called participant, safe' (kept)."
)
def ack_command(study_id: str, number: int, by: str, note: str) -> None:
    """Acknowledge alert NUMBER (as `eas alerts list` shows it) once the study's safety
    procedure has been followed."""
    begin_write()
    study = _study(study_id)
    try:
        user = acting_member(study.id, by)
        alert = acknowledge(study.id, number, by=user, note=note, now=now_utc())
    except AlertError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"alert {alert.number} acknowledged by {user.email}: {alert.acknowledged_note}")


keys_cli = AppGroup("keys", help="Encryption keys of identifying data at rest.")


@keys_cli.command("new")
def new_key_command() -> None:
    """Print a new encryption key to put first in EAS_ENCRYPTION_KEYS."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every stored phone number with the first key of EAS_ENCRYPTION_KEYS (all or
    nothing); afterwards the older keys can be removed."""
    from eas.safety.keys import rotate_keys

    begin_write()
    try:
        done = rotate_keys()
    except ValueError as problem:
        db.session.rollback()
        raise click.ClickException(f"nothing changed: {problem}") from None
    db.session.commit()
    click.echo(
        f"re-encrypted {done.participants} participant and {done.messages} message numbers "
        f"and {done.texts} sealed texts with the first key; the other keys in "
        "EAS_ENCRYPTION_KEYS can now be removed"
    )
