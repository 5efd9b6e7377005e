from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from eas.audit.operations import record
from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.participants.arms import arms_of
from eas.participants.csv_import import CsvInvalid
from eas.participants.lifecycle import (
    LifecycleError,
    change_timezone,
    find_participant,
    pause,
    pause_end,
    resume,
    withdraw,
)
from eas.participants.operations import import_csv_text
from eas.participants.state import participant_state
from eas.scheduling.planner import PlanningError
from eas.studies.operations import get_study

participants_cli = AppGroup("participants", help="Enroll and manage participants.")


@participants_cli.command("import")
@click.argument("study_id")
@click.argument("csv_path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--start",
    type=click.Choice(["today", "tomorrow"]),
    help="First study day of rows without start_date (default: the protocol's study.start).",
)
def import_command(study_id: str, csv_path: str, start: str | None) -> None:
    """Enroll participants from a CSV and plan their prompts.

    Columns: label, phone, timezone, and optionally wake, sleep, weekend_wake, weekend_sleep,
    start_date, channel, group; arm where the protocol takes arms from the CSV
    (study.arms.assign: csv), the study.arms.stratify_by column where eas balances them within
    it. Nothing is imported unless every row is good; rows already enrolled are left as they
    are.
    """
    study = get_study(study_id)
    if study is None or study.current_version is None:
        raise click.ClickException(f"no study '{study_id}'; create it with `eas study create`")
    try:
        text = Path(csv_path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{csv_path}: not UTF-8 text; save the CSV as UTF-8") from None
    begin_write()
    try:
        result = import_csv_text(study, text, actor="cli", start=start)
    except CsvInvalid as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(error.format(csv_path))
        click.echo(f"{csv_path}: {len(exc.errors)} error(s); nobody was imported", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(
        f"{study.slug}: enrolled {len(result.created)} participant(s) with "
        f"{result.prompts_planned} prompts planned; "
        f"{len(result.unchanged)} already enrolled and unchanged"
    )
    for warning in result.warnings:  # enrolled all the same
        click.echo(f"warning: {warning.message}", err=True)


def _participant(study_id: str, label: str):
    begin_write()  # these commands read the participant, then change it
    study = get_study(study_id)
    participant = find_participant(study.id, label) if study else None
    if participant is None:
        raise click.ClickException(f"no participant '{label}' in study '{study_id}'")
    return participant


def _run_lifecycle(action, participant, **kwargs) -> None:
    now = now_utc()
    try:
        result = action(participant, now, actor="cli", **kwargs)
    except (LifecycleError, PlanningError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"{participant.label}: {participant_state(participant, now)}; "
        f"{result.cancelled} future prompt(s) cancelled, {result.created} planned"
    )


@participants_cli.command("list")
@click.argument("study_id")
def list_command(study_id: str) -> None:
    """List participants (pseudonymous: no phone numbers), with their state now ("paused
    until" a time in their own zone), and their arm in a study with arms."""
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study '{study_id}'")
    now = now_utc()
    arms = arms_of(study.current_version.definition) if study.current_version else None
    for p in sorted(study.participants, key=lambda p: p.label):
        group = p.group.label if p.group else "-"
        window = f"{p.wake_time:%H:%M}-{p.sleep_time:%H:%M}"
        arm = ""
        if arms is not None or p.arm is not None:
            column = (arms or {}).get("stratify_by", "stratum")
            stratum = f" ({column} {p.arm_stratum})" if p.arm_stratum else ""
            arm = f"\tarm {p.arm or '-'}{stratum}"
        click.echo(
            f"{p.label}\t{participant_state(p, now)}\t{p.timezone}\t{window}\t{p.channel.value}"
            f"\tstarts {p.start_date}\tgroup {group}{arm}"
        )


@participants_cli.command("pause")
@click.argument("study_id")
@click.argument("label")
@click.option(
    "--until",
    default="",
    help="End of the pause in the participant's own time, as the page takes it "
    "(2026-03-21T14:00), or with an offset (2026-03-21T18:00+00:00); default: until resumed.",
)
@click.option("--reason")
def pause_command(study_id: str, label: str, until: str, reason: str | None) -> None:
    """Pause a participant's prompts from now (until --until, or until resumed)."""
    participant = _participant(study_id, label)
    try:
        end = pause_end(until, participant.timezone)
    except LifecycleError as problem:
        raise click.BadParameter(str(problem), param_hint="--until") from None
    _run_lifecycle(pause, participant, until=end, reason=reason)


@participants_cli.command("resume")
@click.argument("study_id")
@click.argument("label")
def resume_command(study_id: str, label: str) -> None:
    """End a participant's pause: prompts from now on are planned again."""
    _run_lifecycle(resume, _participant(study_id, label))


@participants_cli.command("withdraw")
@click.argument("study_id")
@click.argument("label")
@click.option("--reason")
def withdraw_command(study_id: str, label: str, reason: str | None) -> None:
    """Withdraw a participant: every future prompt is cancelled at once."""
    _run_lifecycle(withdraw, _participant(study_id, label), reason=reason)


@participants_cli.command("set-timezone")
@click.argument("study_id")
@click.argument("label")
@click.argument("zone")
def set_timezone_command(study_id: str, label: str, zone: str) -> None:
    """Move a participant to another IANA zone (travel): future prompts follow it."""
    _run_lifecycle(change_timezone, _participant(study_id, label), zone=zone)


@participants_cli.command("link")
@click.argument("study_id")
@click.argument("label")
def link_command(study_id: str, label: str) -> None:
    """Print a new link to the participant's own page, where they can start reports (the
    previous link stops working). Only its hash is stored: send it to them now."""
    from eas.surveys.links import personal_link

    participant = _participant(study_id, label)
    url = personal_link(participant, now_utc())
    record(
        "participant.personal_link_issued",
        actor="cli",
        study_id=participant.study_id,
        participant_id=participant.id,
    )
    db.session.commit()
    click.echo(url)
