"""Planned prompts and what became of them, study-wide or for one participant."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from eas.api.auth import study_for
from eas.api.base import NO_PARTICIPANT, NO_STUDY, api_blueprint, page_of
from eas.api.participants import participant_or_404
from eas.api.schemas import PromptQuerySchema, PromptSchema
from eas.core.clock import now_utc
from eas.core.db import db
from eas.participants.models import Participant, TimezoneChange
from eas.responses.models import Response
from eas.responses.prompt_states import prompt_state
from eas.scheduling.localtime import local, zone_at
from eas.scheduling.models import PlannedPrompt, PromptStatus

blp = api_blueprint("Prompts", __name__, "Planned prompts and what became of them.")


def state(prompt: PlannedPrompt, response: Response | None, now: datetime) -> str:
    """What happened to the prompt, in the words of every page and the export (see
    `PromptSchema.state`); `status` keeps its delivery lifecycle."""
    response_status = response.status if response is not None else None
    return prompt_state(prompt.status, response_status, prompt.expires_at, now)


def _zones(participant_ids: set[int]) -> dict[int, list[tuple[datetime, str]]]:
    history: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for participant_id, effective_at, zone in db.session.execute(
        sa.select(
            TimezoneChange.participant_id, TimezoneChange.effective_at, TimezoneChange.timezone
        )
        .where(TimezoneChange.participant_id.in_(participant_ids))
        .order_by(TimezoneChange.effective_at, TimezoneChange.id)
    ):
        history[participant_id].append((effective_at, zone))
    return history


def _prompts(query: sa.Select, filters: dict, pagination) -> list[dict]:
    if "date" in filters:
        query = query.where(PlannedPrompt.local_date == filters["date"])
    if "status" in filters:
        query = query.where(PlannedPrompt.status == filters["status"])
    else:
        query = query.where(PlannedPrompt.status != PromptStatus.cancelled)
    rows = page_of(
        query.order_by(PlannedPrompt.due_at, PlannedPrompt.id), pagination, scalars=False
    )
    history = _zones({participant.id for _, participant, _ in rows})
    now = now_utc()
    result = []
    for prompt, participant, response in rows:
        zone = zone_at(history[participant.id], prompt.due_at, participant.timezone)
        result.append(
            {
                "id": prompt.id,
                "participant": participant.label,
                "schedule": prompt.schedule_id,
                "questionnaire": prompt.questionnaire_id,
                "channel": prompt.channel,
                "study_day": prompt.study_day,
                "local_date": prompt.local_date,
                "due_at": prompt.due_at,
                "due_local": local(prompt.due_at, zone),
                "timezone": zone,
                "expires_at": prompt.expires_at,
                "status": prompt.status,
                "status_reason": prompt.status_reason,
                "state": state(prompt, response, now),
                "sent_at": prompt.sent_at,
                "delivered_at": prompt.delivered_at,
                "delivery_error_code": prompt.delivery_error_code,
                "reminders_sent": prompt.reminders_sent,
                "response": response,
            }
        )
    return result


def _select() -> sa.Select:
    return (
        sa.select(PlannedPrompt, Participant, Response)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
    )


@blp.route("/studies/<slug>/prompts")
@blp.arguments(PromptQuerySchema, location="query")
@blp.response(200, PromptSchema(many=True))
@blp.error(404, NO_STUDY)
@blp.paginate(page_size=50, max_page_size=500)
def study_prompts(filters: dict, slug: str, pagination_parameters):
    """The study's prompts, by due time

    `date` keeps one local date (each participant's own: today's prompts are those of
    today's date). Cancelled prompts are left out unless `status=cancelled` asks for them.
    """
    study, _ = study_for(slug)
    return _prompts(
        _select().where(Participant.study_id == study.id), filters, pagination_parameters
    )


@blp.route("/studies/<slug>/participants/<label>/prompts")
@blp.arguments(PromptQuerySchema, location="query")
@blp.response(200, PromptSchema(many=True))
@blp.error(404, NO_PARTICIPANT)
@blp.paginate(page_size=50, max_page_size=500)
def participant_prompts(filters: dict, slug: str, label: str, pagination_parameters):
    """One participant's prompts, by due time, in their own time zone too"""
    study, _ = study_for(slug)
    participant = participant_or_404(study, label)
    return _prompts(
        _select().where(PlannedPrompt.participant_id == participant.id),
        filters,
        pagination_parameters,
    )
