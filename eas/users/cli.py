from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.api.tokens import TokenError, issue_token, revoke_tokens, user_tokens
from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.studies.operations import get_study
from eas.users.invitations import InvitationError, invitation_link, invite
from eas.users.models import StudyRole, User
from eas.users.operations import AccountError, TeamError, create_user, grant, revoke

users_cli = AppGroup("users", help="Coordinator accounts and who is on which study.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--if-missing", is_flag=True, help="Do nothing if the account exists (scripts).")
@click.option("--admin", is_flag=True, help="May create studies (as may owners of a study).")
def create_command(email: str, name: str, password: str, if_missing: bool, admin: bool) -> None:
    """Create a coordinator account (argon2-hashed password)."""
    begin_write()
    email = email.strip().lower()  # as create_user stores it
    if if_missing and db.session.scalar(sa.select(User.id).where(User.email == email)):
        click.echo(f"{email} exists already")
        return
    try:
        user = create_user(email, name, password, now_utc(), admin=admin)
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
    try:
        grant(user, study.id, StudyRole(role), now_utc(), actor="cli")
    except TeamError as problem:
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"{user.email} is {role} of {study_id}")


@users_cli.command("invite")
@click.argument("email")
@click.argument("study_id")
@click.argument("role", type=click.Choice([role.value for role in StudyRole]))
def invite_command(email: str, study_id: str, role: str) -> None:
    """Invite a colleague without an account to a study: print the link (once: only its hash
    is kept) with which they make their account. It works once, for 7 days."""
    begin_write()
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study {study_id}")
    try:
        invitation, token = invite(
            email, study.id, StudyRole(role), now_utc(), inviter=None, actor="cli"
        )
    except InvitationError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(
        f"Invitation of {invitation.email} as {role} of {study.slug}, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC (shown once; send it to them only):",
        err=True,
    )
    click.echo(invitation_link(token))


@users_cli.command("remove")
@click.argument("email")
@click.argument("study_id")
def remove_command(email: str, study_id: str) -> None:
    """Take a user off a study (the account stays)."""
    begin_write()
    user = _user(email)
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study {study_id}")
    try:
        revoke(user, study.id, actor="cli")
    except TeamError as problem:
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(f"{user.email} is no longer on {study_id}")


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


@users_cli.command("token")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'analysis laptop'.")
def token_command(email: str, name: str) -> None:
    """Create an API token for a user and print it (once: only its hash is kept)."""
    begin_write()
    user = _user(email)
    try:
        _, token = issue_token(user, name, now_utc(), actor="cli")
    except TokenError as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    db.session.commit()
    click.echo(
        f"API token '{name.strip()}' of {user.email} (shown once; keep it secret):", err=True
    )
    click.echo(token)


@users_cli.command("revoke-token")
@click.argument("email")
@click.option("--name", help="Revoke only the tokens with this name (default: all).")
def revoke_token_command(email: str, name: str | None) -> None:
    """Revoke a user's API tokens (those named --name, or all of them)."""
    begin_write()
    user = _user(email)
    count = revoke_tokens(user, now_utc(), actor="cli", name=name)
    db.session.commit()
    if count == 0:
        which = f" named '{name}'" if name else ""
        raise click.ClickException(f"{user.email} has no live API token{which}")
    click.echo(f"revoked {count} API token(s) of {user.email}")


@users_cli.command("tokens")
@click.argument("email")
def tokens_command(email: str) -> None:
    """List a user's API tokens: name, when made, last used, revoked (never the tokens)."""

    def when(moment) -> str:
        return f"{moment:%Y-%m-%dT%H:%MZ}" if moment else "-"

    tokens = user_tokens(_user(email))
    if not tokens:
        click.echo(f"{email.lower()} has no API tokens: `eas users token {email} --name NAME`")
    for token in tokens:
        state = f"revoked {when(token.revoked_at)}" if token.revoked_at else "live"
        click.echo(
            f"{token.name}\tcreated {when(token.created_at)}\tlast used "
            f"{when(token.last_used_at)}\t{state}"
        )
