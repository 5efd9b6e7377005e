from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.participants.models import Participant
from eas.safety.models import AlertStatus, SafetyAlert
from eas.safety.operations import AlertError, acknowledge
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
    """Open safety alerts, oldest first, with whether the team was notified."""
    study = _study(study_id)
    query = (
        sa.select(SafetyAlert, Participant.label)
        .join(Participant, Participant.id == SafetyAlert.participant_id)
        .where(SafetyAlert.study_id == study.id)
        .order_by(SafetyAlert.raised_at, SafetyAlert.id)
    )
    if not show_all:
        query = query.where(SafetyAlert.status == AlertStatus.open)
    rows = db.session.execute(query).all()
    if not rows:
        click.echo("no open alerts" if not show_all else "no alerts")
    for alert, label in rows:
        if alert.notified_at:
            told = f"notified {alert.notified_at:%Y-%m-%d %H:%M}"
        elif alert.last_error:
            told = f"NOT notified yet ({alert.notify_attempts} tries: {alert.last_error})"
        else:
            told = "not notified (no mail configured or not yet)"
        ack = (
            f"acknowledged by {alert.acknowledged_by} {alert.acknowledged_at:%Y-%m-%d %H:%M}"
            if alert.status is AlertStatus.acknowledged
            else "OPEN"
        )
        click.echo(
            f"{alert.id}\t{alert.raised_at:%Y-%m-%d %H:%M} UTC\t{label}\t{alert.rule}"
            f"\t{alert.trigger}/{alert.channel}\t{ack}\t{told}"
        )


@alerts_cli.command("ack")
@click.argument("study_id")
@click.argument("alert_id", type=int)
@click.option("--by", "by", required=True, help="Who acknowledges it (kept in the audit log).")
def ack_command(study_id: str, alert_id: int, by: str) -> None:
    """Acknowledge an alert once the study's safety procedure has been followed."""
    begin_write()
    study = _study(study_id)
    try:
        alert = acknowledge(study.id, alert_id, by=by, now=now_utc())
    except AlertError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"alert {alert.id} acknowledged by {by}")


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
