"""What the monitoring pages ask of the database: today's prompts, delivery failures, safety
alerts, the audit log (compliance per participant: `responses.compliance`). Read-only."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.core.db import db
from eas.delivery.models import Direction, Message, MessageStatus
from eas.participants.models import Participant
from eas.responses.models import Answer, Response, ResponseStatus
from eas.responses.prompt_states import prompt_state
from eas.safety.models import AlertStatus, SafetyAlert
from eas.safety.notify import mail_configured, team_told
from eas.scheduling.localtime import local, local_date_of, zone_at
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.reasons import CancelReason
from eas.studies.models import Study
from eas.users.models import StudyRole


@dataclass(frozen=True)
class PromptView:
    prompt: PlannedPrompt
    label: str
    #: The participant's zone when the prompt was due (history kept across moves).
    zone: str
    response_status: ResponseStatus | None
    #: The moment the page looks from, to tell an open prompt from a missed one.
    now: datetime

    @property
    def local_due(self) -> datetime:
        return local(self.prompt.due_at, self.zone)

    @property
    def state(self) -> str:
        """What happened to it (see `STATES`)."""
        return prompt_state(
            self.prompt.status, self.response_status, self.prompt.expires_at, self.now
        )


def _prompt_views(query, now: datetime, history=None) -> list[PromptView]:
    """Prompts with their participant's label, zone and response; `history`, the zone changes
    of one participant [(effective_at, zone)], gives each prompt the zone it was due in."""
    rows = db.session.execute(
        query.add_columns(Participant.label, Participant.timezone, Response.status)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
        .where(
            sa.or_(
                PlannedPrompt.status_reason.is_(None),
                PlannedPrompt.status_reason != CancelReason.superseded.value,
            )
        )
    ).all()
    return [
        PromptView(prompt, label, zone_at(history or [], prompt.due_at, zone), status, now)
        for prompt, label, zone, status in rows
    ]


def todays_prompts(study: Study, now: datetime) -> list[PromptView]:
    """Every prompt of each participant's own local today (not cancelled ones), by local time."""
    # Local dates differ by at most a day across zones: narrow in SQL, then exactly per person.
    utc_today = now.date()
    query = (
        sa.select(PlannedPrompt)
        .where(
            Participant.study_id == study.id,
            PlannedPrompt.local_date.between(
                utc_today - timedelta(days=1), utc_today + timedelta(days=1)
            ),
            PlannedPrompt.status != PromptStatus.cancelled,
        )
        .order_by(PlannedPrompt.due_at, Participant.label)
    )
    todays = [
        view
        for view in _prompt_views(query, now)
        if view.prompt.local_date == local_date_of(now, view.zone)
    ]
    # In the order of the local times the page shows (the 09:00s together, whatever the zone).
    return sorted(todays, key=lambda view: (view.local_due.replace(tzinfo=None), view.label))


def answers_by_prompt(participant: Participant) -> dict[int, list[tuple[str, str]]]:
    """What the participant answered, per prompt: (item, value as they gave it or its code)."""
    rows = db.session.execute(
        sa.select(Response.prompt_id, Answer)
        .join(Answer, Answer.response_id == Response.id)
        .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(Response.prompt_id, Answer.position)
    ).all()
    answers: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for prompt_id, answer in rows:
        answers[prompt_id].append((answer.item_id, _shown(answer)))
    return answers


def participant_prompts(participant: Participant, now: datetime) -> list[PromptView]:
    query = (
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(PlannedPrompt.due_at, PlannedPrompt.revision)
    )
    history = [(change.effective_at, change.timezone) for change in participant.timezone_changes]
    return _prompt_views(query, now, history)


@dataclass(frozen=True)
class Failure:
    at: datetime
    label: str
    what: str
    code: int | None
    detail: str


def delivery_failures(study: Study, since: datetime) -> list[Failure]:
    """Prompts that could not be sent and texts the carrier did not deliver, newest first."""
    prompts = db.session.execute(
        sa.select(PlannedPrompt, Participant.label)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .where(
            Participant.study_id == study.id,
            PlannedPrompt.status == PromptStatus.failed,
            PlannedPrompt.due_at >= since,
        )
    ).all()
    messages = db.session.execute(
        sa.select(Message, Participant.label)
        .join(Participant, Participant.id == Message.participant_id)
        .where(
            Participant.study_id == study.id,
            Message.direction == Direction.outbound,
            Message.status.in_([MessageStatus.failed, MessageStatus.undelivered]),
            Message.updated_at >= since,
        )
    ).all()
    failures = [
        Failure(
            p.due_at,
            label,
            f"prompt {p.schedule_id} (day {p.study_day}) not sent",
            p.delivery_error_code,
            p.status_reason or "",
        )
        for p, label in prompts
    ] + [
        Failure(m.updated_at, label, f"{m.purpose or 'text'} {m.status.value}", m.error_code, "")
        for m, label in messages
    ]
    return sorted(failures, key=lambda f: f.at, reverse=True)


_LINK_TOKEN = re.compile(r"/(p|me)/[A-Za-z0-9_-]+")


def hide_link_tokens(body: str) -> str:
    """A text as the team may read it: a link's token would let its reader answer (or read
    answers) as the participant, so it is left out."""
    return _LINK_TOKEN.sub(r"/\1/…", body)


#: Texts shown at a time on a participant's page (three days of a pilot held 16,000 px).
THREAD_PAGE = 60


def thread(
    participant: Participant, *, before: int | None = None
) -> tuple[list[Message], int | None]:
    """The participant's latest texts to and from them (before the text `before`, if given),
    oldest first, and the id to ask for the page before them (None: no older texts)."""
    size = THREAD_PAGE
    query = sa.select(Message).where(Message.participant_id == participant.id)
    if before is not None:
        query = query.where(Message.id < before)
    latest = db.session.scalars(query.order_by(Message.id.desc()).limit(size + 1)).all()
    shown = latest[:size]
    older = shown[-1].id if len(latest) > size else None
    return shown[::-1], older


def audit_page(
    study: Study, *, before: int | None, size: int = 50
) -> list[tuple[AuditEvent, str | None]]:
    """The study's audit events, newest first (by when they happened: a simulated history is
    written after later events), each with its participant's label (if any); `before`: the
    event the previous page ended with."""
    query = (
        sa.select(AuditEvent, Participant.label)
        .outerjoin(Participant, Participant.id == AuditEvent.participant_id)
        .where(AuditEvent.study_id == study.id)
    )
    anchor = db.session.get(AuditEvent, before) if before is not None else None
    if anchor is not None:
        query = query.where(
            sa.tuple_(AuditEvent.occurred_at, AuditEvent.id)
            < sa.tuple_(anchor.occurred_at, anchor.id)
        )
    newest_first = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return db.session.execute(query.order_by(*newest_first).limit(size)).all()


def local_time(moment: datetime, zone: str) -> str:
    """A moment as the participant reads their clock, with the zone's abbreviation."""
    return local(moment, zone).strftime("%a %d %b %Y %H:%M %Z")


def local_today(study: Study, now: datetime) -> date:
    return local_date_of(now, study.timezone)


@dataclass(frozen=True)
class AlertView:
    alert: SafetyAlert
    label: str
    #: Whether the team was told, as it is (`safety.notify.team_told`).
    told: str
    #: What set it off (the participant's text or answers), for roles that see answers; None
    #: when the page does not show it, "" when it is no longer kept (the data was deleted).
    set_off_by: str | None = None


#: Who sees the words or answers that set an alert off: whoever sees answers, and every role
#: of a study does (the participant page shows each member the answers and the SMS thread).
SEES_ANSWERS = StudyRole.viewer


def sees_answers(role: StudyRole) -> bool:
    return role.rank >= SEES_ANSWERS.rank


def open_alert_counts(study_ids: list[int]) -> dict[int, int]:
    """Open alerts per study, for the studies list."""
    if not study_ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(SafetyAlert.study_id, sa.func.count())
            .where(SafetyAlert.study_id.in_(study_ids), SafetyAlert.status == AlertStatus.open)
            .group_by(SafetyAlert.study_id)
        ).all()
    )


def study_alerts(
    study: Study,
    status: AlertStatus,
    *,
    participant: Participant | None = None,
    with_text: bool = False,
) -> list[AlertView]:
    """The study's open alerts (oldest first) or acknowledged ones (newest acknowledgement
    first), or only one participant's; `with_text`: with what set each off."""
    query = (
        sa.select(SafetyAlert, Participant.label)
        .join(Participant, Participant.id == SafetyAlert.participant_id)
        .where(SafetyAlert.study_id == study.id, SafetyAlert.status == status)
    )
    if participant is not None:
        query = query.where(SafetyAlert.participant_id == participant.id)
    if status is AlertStatus.open:
        query = query.order_by(SafetyAlert.number)
    else:
        query = query.order_by(SafetyAlert.acknowledged_at.desc(), SafetyAlert.number.desc())
    mail = mail_configured()
    definition = study.current_version.definition if study.current_version else {}
    return [
        AlertView(
            alert,
            label,
            team_told(alert, mail),
            set_off_by(alert, definition) if with_text else None,
        )
        for alert, label in db.session.execute(query).all()
    ]


def set_off_by(alert: SafetyAlert, definition: dict) -> str:
    """What set the alert off: the text (an SMS, free-text answers) with the keyword, or the
    answers its rule reads; "" once the participant's data was deleted."""
    if alert.trigger == "keyword" and alert.channel == "sms":
        bodies = db.session.scalars(
            sa.select(Message.body).where(
                Message.participant_id == alert.participant_id,
                Message.direction == Direction.inbound,
                Message.created_at == alert.raised_at,
            )
        ).all()
        return " / ".join(hide_link_tokens(body) for body in bodies)
    if alert.prompt_id is None:
        return ""
    answers = db.session.scalars(
        sa.select(Answer)
        .join(Response, Response.id == Answer.response_id)
        .where(Response.prompt_id == alert.prompt_id)
        .order_by(Answer.position)
    ).all()
    if alert.trigger == "keyword":
        return " / ".join(a.value_text for a in answers if a.value_text)
    rule = next((a for a in definition.get("alerts", []) if a.get("id") == alert.rule), {})
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", rule.get("when") or ""))
    return "; ".join(f"{a.item_id} {_shown(a)}" for a in answers if a.item_id in named or not named)


def _shown(answer: Answer) -> str:
    if answer.missing_code is not None:
        return answer.missing_code.value
    if answer.value_text is not None:
        return answer.value_text
    if answer.value_numeric is not None:
        return f"{answer.value_numeric:g}"
    return ""
