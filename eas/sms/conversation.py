"""The SMS dialogue: one item per message, replies understood per item type, branching applied.

The conversation a reply belongs to is the participant's most recently sent SMS prompt, while it
is open: one conversation at a time, and a newer prompt closes an older one still in progress
(the protocol's `overlap` rule decides whether the newer one is sent at all). With no open
conversation, the protocol's event keyword starts a report; anything else gets a short note.

An invalid reply is asked again once, with the answer format; a second invalid reply is kept as
`invalid` (raw text and all) and the conversation moves on. `SKIP` skips an item. Where the
questionnaire allows compact replies, "7 2 5" answers the next items in turn.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.compose import prompt_text
from eas.delivery.models import Message
from eas.participants.models import Channel, Participant
from eas.protocols.expressions import parse
from eas.protocols.sms_format import closing_text, render_item
from eas.responses import operations as responses
from eas.responses.models import Response, ResponseStatus
from eas.responses.replies import (
    COMPACT_TYPES,
    Answered,
    Invalid,
    Outcome,
    Skipped,
    answer_value,
    parse_reply,
    split_compact,
)
from eas.safety.operations import alerts_for_answers
from eas.scheduling import events
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.sms import texts

#: How long after a check-in closed a late reply is told so (later: the general note).
_LATE_REPLY_NOTICE = timedelta(hours=12)


#: Built once: every inbound text asks it (statements cost more to build than to run).
_LATEST_SMS_PROMPT = (
    sa.select(PlannedPrompt)
    .where(
        PlannedPrompt.participant_id == sa.bindparam("participant_id"),
        PlannedPrompt.channel == Channel.sms,
        PlannedPrompt.status.in_([PromptStatus.sent, PromptStatus.sending]),
    )
    .order_by(
        sa.func.coalesce(PlannedPrompt.sent_at, PlannedPrompt.due_at).desc(),
        PlannedPrompt.id.desc(),
    )
    .limit(1)
)


def latest_sms_prompt(participant_id: int) -> PlannedPrompt | None:
    """The participant's latest SMS prompt that went out. One still `sending` counts: the
    dispatcher records a batch's sends after the whole batch, and a quick reply may come first
    (a participant cannot answer a text they did not get)."""
    return db.session.scalar(_LATEST_SMS_PROMPT, {"participant_id": participant_id})


def open_conversation(
    participant_id: int, now: datetime
) -> tuple[PlannedPrompt | None, Response | None, bool]:
    """The latest SMS prompt, its response, and whether a reply now continues it."""
    prompt = latest_sms_prompt(participant_id)
    if prompt is None:
        return None, None, False
    response = responses.response_for(prompt)
    return prompt, response, responses.is_open(prompt, response, now)


def reply(
    participant: Participant,
    message: Message,
    body: str,
    now: datetime,
    current: tuple[PlannedPrompt | None, Response | None, bool],
) -> list[str]:
    """Answer one inbound text from an active (or paused) participant: the texts to send back.
    `current`: `open_conversation` as the caller found it."""
    definition = participant.study.current_version.definition
    prompt, response, is_open = current
    if prompt is not None and is_open:
        message.prompt_id = prompt.id
        return _continue(prompt, response, body, now)
    schedule = events.event_schedule(definition, body)
    if schedule is not None:
        report, refusal = events.start_report(participant, schedule, now, Channel.sms)
        if report is None:
            return [refusal]
        message.prompt_id = report.id
        responses.close_superseded(participant.id, report.id, now)
        return [prompt_text(report, None)]
    if prompt is not None:
        message.prompt_id = prompt.id
        if response is not None and response.status is ResponseStatus.completed:
            if now < prompt.expires_at:
                return [texts.ALREADY_DONE]
        elif now - responses.closes_at(prompt, response) < _LATE_REPLY_NOTICE:
            return [texts.CLOSED]
    return [texts.nothing_open(definition)]


def _continue(
    prompt: PlannedPrompt, response: Response | None, body: str, now: datetime
) -> list[str]:
    """The next text of the conversation, then the reply of any safety alert it set off."""
    questionnaire = responses.questionnaire_of(prompt)
    if response is None:
        response = responses.start_response(prompt, Channel.sms, now)
        responses.close_superseded(prompt.participant_id, prompt.id, now)
    # Loading the answers needs nothing pending written first: it is written with the answer.
    with db.session.no_autoflush:
        before = responses.answered_values(response, questionnaire)
    text = _step(response, questionnaire, body, now)
    # Rules over answers here; keywords are matched in every text, in `sms.inbound`.
    after = responses.answered_values(response, questionnaire)
    return [
        text,
        *alerts_for_answers(prompt, questionnaire["id"], before, after, [], channel="sms", now=now),
    ]


def _step(response: Response, questionnaire: dict[str, Any], body: str, now: datetime) -> str:
    items = {item["id"]: item for item in questionnaire["items"]}
    item = items[response.current_item_id]
    compact = _compact_outcomes(response, questionnaire, item, body)
    lead = ""
    if compact:
        for answered_item, outcome, word in compact:
            responses.record(response, answered_item, outcome, word, now)
            responses.advance(response, questionnaire, now)
    else:
        outcome = parse_reply(item, body)
        if isinstance(outcome, Invalid) and not response.reasked:
            response.reasked = True
            response.last_activity_at = now
            return texts.REASK.format(hint=outcome.hint)
        if isinstance(outcome, Invalid):
            lead = texts.MOVE_ON + "\n"
        responses.record(response, item, outcome, body, now)
        responses.advance(response, questionnaire, now)
    if response.current_item_id is None:
        return lead + closing_text(questionnaire)
    position = list(items).index(response.current_item_id) + 1
    return lead + render_item(items[response.current_item_id], position, len(items))


def _compact_outcomes(
    response: Response, questionnaire: dict[str, Any], item: dict[str, Any], body: str
) -> list[tuple[dict[str, Any], Outcome, str]]:
    """The items a compact reply answers, in order, or [] when it is not a valid one: every
    word must answer the next item branching shows, and only one-word item types take part."""
    if not questionnaire.get("compact_replies") or item["type"] not in COMPACT_TYPES:
        return []
    words = split_compact(body)
    if not words:
        return []
    values = responses.answered_values(response, questionnaire)
    done = {answer.item_id for answer in response.answers}
    pending = [i for i in questionnaire["items"] if i["id"] not in done]
    found: list[tuple[dict[str, Any], Outcome, str]] = []
    for word in words:
        while pending and pending[0].get("show_if"):
            if parse(pending[0]["show_if"]).evaluate(values):
                break
            pending.pop(0)
        if not pending or pending[0]["type"] not in COMPACT_TYPES:
            return []
        target = pending.pop(0)
        outcome = parse_reply(target, word)
        if not isinstance(outcome, Answered | Skipped):
            return []
        if isinstance(outcome, Answered):
            values[target["id"]] = answer_value(target, outcome.numeric, outcome.text)
        found.append((target, outcome, word))
    return found
