from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.studies.operations import get_study
from eas.users.models import StudyRole, User
from eas.users.operations import AccountError, create_user, grant

users_cli = AppGroup("users", help="Coordinator accounts and who is on which study.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--if-missing", is_flag=True, help="Do nothing if the account exists (scripts).")
def create_command(email: str, name: str, password: str, if_missing: bool) -> None:
    """Create a coordinator account (argon2-hashed password)."""
    begin_write()
    if if_missing and db.session.scalar(sa.select(User.id).where(User.email == email.lower())):
        click.echo(f"{email.lower()} exists already")
        return
    try:
        user = create_user(email, name, password, now_utc())
    except AccountError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"created {user.email}")


@users_cli.command("grant")
@click.argument("email")
@click.argument("study_id")
@click.argument("role", type=click.Choice([role.value for role in StudyRole]))
def grant_command(email: str, study_id: str, role: str) -> None:
    """Put a user on a study as owner, coordinator or viewer."""
    begin_write()
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    study = get_study(study_id)
    if user is None or study is None:
        raise click.ClickException(f"no user {email}" if user is None else f"no study {study_id}")
    grant(user, study.id, StudyRole(role), now_utc(), actor="cli")
    db.session.commit()
    click.echo(f"{user.email} is {role} of {study_id}")
