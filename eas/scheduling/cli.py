from __future__ import annotations

import copy
import csv
import io
import json
from datetime import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.core.timeofday import optional_hhmm, parse_hhmm
from eas.participants.lifecycle import find_participant
from eas.protocols.schemas import iana_zones
from eas.protocols.validation import ProtocolInvalid, validate_protocol_file
from eas.responses.models import Response
from eas.responses.prompt_states import prompt_state
from eas.scheduling.localtime import local
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.operations import replan_participants
from eas.scheduling.planner import PlanningError
from eas.scheduling.preview import DEFAULT_PRICE_PER_SEGMENT, Preview, build_preview
from eas.studies.operations import get_study

schedule_cli = AppGroup("schedule", help="Preview, plan and inspect prompt schedules.")


def _time(ctx, param, value: str | None) -> time | None:
    if value is None:
        return None
    try:
        return parse_hhmm(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a time of day (HH:MM)") from None


def _zone(ctx, param, value: str | None) -> str | None:
    if value is not None and value not in iana_zones():
        raise click.BadParameter(f"'{value}' is not an IANA time zone")
    return value


_COLUMNS = ("study_day", "schedule", "questionnaire", "channel", "local", "utc", "expires")


def _records(preview: Preview) -> list[dict]:
    return [
        {
            "study_day": row.slot.study_day,
            "schedule": row.slot.schedule_id,
            "questionnaire": row.slot.questionnaire_id,
            "channel": row.slot.channel,
            "local": row.local_due,
            "utc": row.utc_due,
            "expires": row.local_expires,
            "reminders": len(row.slot.reminders_at),
            "items": row.items,
            "sms_segments": row.segments,
        }
        for row in preview.rows
    ]


def _table(preview: Preview) -> str:
    records = _records(preview)
    widths = {c: max([len(c)] + [len(str(r[c])) for r in records]) for c in _COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in _COLUMNS)]
    lines.append("  ".join("-" * widths[c] for c in _COLUMNS))
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in _COLUMNS) for r in records]
    lines.append("")
    lines.append("day  date        prompts  items  minutes  sms_segments")
    for day in preview.days:
        lines.append(
            f"{day.study_day:>3}  {day.local_date}  {day.prompts:>7}  {day.items:>5}  "
            f"{day.minutes:>7}  {day.segments:>12}"
        )
    summary = preview.summary()
    lines.append("")
    lines.append(
        f"burden per participant on each of the {summary['active_days']} days with prompts "
        f"(of {summary['days']}): {summary['prompts_per_day']} prompts, up to "
        f"{summary['items_per_day']} items and {summary['minutes_per_day']} minutes a day; "
        f"{summary['sms_segments_per_day']} SMS segments a day (both directions) = "
        f"${summary['sms_cost_per_day']:.2f}/day, ${summary['sms_cost_total']:.2f} for "
        f"{summary['days']} days at ${preview.price_per_segment}/segment"
    )
    lines += [f"warning: {warning.message}" for warning in preview.warnings]
    return "\n".join(lines)


def _warning_records(preview: Preview) -> list[dict]:
    return [
        {
            "schedule": warning.schedule_id,
            "window": warning.window,
            "waking_hours": warning.waking_hours,
            "prompts": warning.prompts,
            "first_local": warning.first_local,
            "message": warning.message,
        }
        for warning in preview.warnings
    ]


@schedule_cli.command("preview")
@click.argument("protocol_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--start", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    help="Default: the protocol's duration (28 days of an open-ended one).",
)
@click.option("--timezone", "zone", callback=_zone, help="Default: the study's zone.")
@click.option("--wake", callback=_time, help="Default: participant_defaults.wake.")
@click.option("--sleep", callback=_time, help="Default: participant_defaults.sleep.")
@click.option("--channel", type=click.Choice(["sms", "web"]))
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--arm", help="The participant's arm (protocols with study.arms).")
@click.option("--price", type=float, default=DEFAULT_PRICE_PER_SEGMENT, show_default=True)
@click.option("--format", "output", type=click.Choice(["table", "csv", "json"]), default="table")
def preview_command(
    protocol_path, start, days, zone, wake, sleep, channel, seed, arm, price, output
):
    """Print every prompt one participant would get, with local and UTC times and the burden.

    Needs no database: it runs the planner on the protocol file. Warns of schedules whose own
    window puts prompts outside the waking hours (--wake, --sleep or the protocol's).
    """
    try:
        definition = copy.deepcopy(validate_protocol_file(protocol_path).definition)
    except ProtocolInvalid as exc:
        for error in exc.errors:
            click.echo(str(error))
        raise SystemExit(1) from None
    if days:
        definition["study"]["duration_days"] = days
    arms = definition["study"].get("arms", {}).get("names", [])
    if (arm is None) != (not arms) or (arm is not None and arm not in arms):
        wanted = f"--arm, one of {', '.join(arms)}" if arms else "no --arm: the study has no arms"
        raise click.UsageError(f"give {wanted}")
    defaults = definition["participant_defaults"]
    try:
        preview = build_preview(
            definition,
            start=start.date(),
            zone=zone or definition["study"]["timezone"],
            wake=wake or parse_hhmm(defaults["wake"]),
            sleep=sleep or parse_hhmm(defaults["sleep"]),
            # The protocol's weekend window, unless a window is given for this preview.
            weekend_wake=None if wake or sleep else optional_hhmm(defaults.get("weekend_wake")),
            weekend_sleep=None if wake or sleep else optional_hhmm(defaults.get("weekend_sleep")),
            channel=channel,
            seed=seed,
            arm=arm,
            price_per_segment=price,
        )
    except PlanningError as exc:
        raise click.ClickException(str(exc)) from None
    if output == "json":
        payload = {
            "prompts": _records(preview),
            "summary": preview.summary(),
            "warnings": _warning_records(preview),
        }
        click.echo(json.dumps(payload, indent=2))
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=list(_records(preview)[0]) if preview.rows else _COLUMNS
        )
        writer.writeheader()
        writer.writerows(_records(preview))
        click.echo(buffer.getvalue(), nl=False)
        for warning in preview.warnings:  # not in the CSV: it stays one table
            click.echo(f"warning: {warning.message}", err=True)
    else:
        click.echo(_table(preview))


@schedule_cli.command("plan")
@click.argument("study_id")
def plan_command(study_id: str) -> None:
    """Plan (or bring up to date) the future prompts of every participant. Safe to repeat."""
    begin_write()
    study = get_study(study_id)
    if study is None:
        raise click.ClickException(f"no study '{study_id}'")
    try:
        result = replan_participants(study.participants, now_utc())
    except PlanningError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(
        f"{study.slug}: {result.created} prompts planned, {result.cancelled} cancelled, "
        f"{result.kept} unchanged"
    )


@schedule_cli.command("show")
@click.argument("study_id")
@click.argument("label")
@click.option("--all", "show_all", is_flag=True, help="Include cancelled prompts.")
def show_command(study_id: str, label: str, show_all: bool) -> None:
    """List one participant's prompts in their own time zone."""
    study = get_study(study_id)
    participant = find_participant(study.id, label) if study else None
    if participant is None:
        raise click.ClickException(f"no participant '{label}' in study '{study_id}'")
    query = (
        sa.select(PlannedPrompt, Response.status)
        .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
        .where(PlannedPrompt.participant_id == participant.id)
    )
    changes = participant.timezone_changes
    now = now_utc()
    ordered = query.order_by(PlannedPrompt.due_at, PlannedPrompt.id)
    for prompt, response_status in db.session.execute(ordered):
        if prompt.status is PromptStatus.cancelled and not show_all:
            continue
        # Each prompt in the zone the participant was in at the time (travel changes it).
        in_force = [c.timezone for c in changes if c.effective_at <= prompt.due_at]
        zone = in_force[-1] if in_force else participant.timezone
        due = local(prompt.due_at, zone)
        reason = f" ({prompt.status_reason})" if prompt.status_reason else ""
        state = prompt_state(prompt.status, response_status, prompt.expires_at, now)
        click.echo(
            f"day {prompt.study_day:>2}  {due:%Y-%m-%d %a %H:%M %Z}  {prompt.schedule_id:<10} "
            f"{prompt.channel.value:<4} {state}{reason}"
        )
