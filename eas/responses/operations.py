"""Recording a response item by item, whatever the channel: branching, missing codes, closing.

The SMS conversation and the web form both go through here, so an answer means the same thing
whichever way it came, and branching is decided on the server from stored answers only (and the
prompt's place in the day, which a questionnaire as the prompt presents it carries:
`context.presented`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from eas.core.crypto import get_cipher, unsealed
from eas.core.db import core_execute, db
from eas.participants.models import Channel
from eas.protocols.expressions import parse
from eas.responses import context
from eas.responses.models import MissingCode, Response, ResponseStatus
from eas.responses.replies import Answered, Invalid, Outcome, Skipped, answer_value
from eas.responses.state import AnswerRow, ResponseState
from eas.scheduling.models import PlannedPrompt

#: Once started, a response stays open past the prompt's expiry while the participant keeps
#: going (formr's rule): until the earlier of expiry + grace and last activity + idle timeout.
GRACE = timedelta(minutes=30)
IDLE_TIMEOUT = timedelta(minutes=15)


def questionnaire_of(prompt: PlannedPrompt) -> dict[str, Any]:
    definition = prompt.protocol_version.definition
    return next(q for q in definition["questionnaires"] if q["id"] == prompt.questionnaire_id)


def window_closes_at(
    expires_at: datetime, status: ResponseStatus | None, last_activity_at: datetime | None
) -> datetime:
    """When a prompt whose window ends at `expires_at` stops taking answers: at expiry, or,
    for a response in progress, as long as the participant keeps going (`status` None: no
    response yet)."""
    if status is not ResponseStatus.in_progress:
        return expires_at
    extended = min(expires_at + GRACE, last_activity_at + IDLE_TIMEOUT)
    return max(expires_at, extended)


def window_is_open(
    expires_at: datetime,
    status: ResponseStatus | None,
    last_activity_at: datetime | None,
    now: datetime,
) -> bool:
    """Whether an answer now still counts (`status` None: no response yet)."""
    if status is not None and status is not ResponseStatus.in_progress:
        return False
    return now < window_closes_at(expires_at, status, last_activity_at)


def answered_values(response: ResponseState, questionnaire: dict[str, Any]) -> dict[str, Any]:
    """Stored answers as branching expressions see them (missing ones left out), with the
    prompt's place in the day where `questionnaire` is presented with it."""
    return values_of(response.answers, questionnaire)


def values_of(answers, questionnaire: dict[str, Any]) -> dict[str, Any]:
    """`answered_values` of answers given as objects or rows with `item_id`, `value_numeric`,
    `value_text` and `missing_code`."""
    items = {item["id"]: item for item in questionnaire["items"]}
    values = {
        answer.item_id: answer_value(
            items[answer.item_id], answer.value_numeric, unsealed(answer.value_text)
        )
        for answer in answers
        if answer.missing_code is None and answer.item_id in items
    }
    return context.branching_values(questionnaire, values)


def _sealer(response: ResponseState):
    if response.encrypts_free_text:
        return get_cipher().seal
    return lambda text: text


def record(
    response: ResponseState, item: dict[str, Any], outcome: Outcome, raw: str | None, now: datetime
) -> AnswerRow:
    """Store one item's outcome: an answer, a skip, or (after the re-ask) an invalid reply.
    Where the study encrypts free text, what the participant wrote is stored sealed.

    Like `advance`, this only changes the state: `state.save` writes it (one UPDATE and one
    executemany per reply or page, not a statement per item)."""
    seal = _sealer(response)
    numeric = text = missing = None
    if isinstance(outcome, Answered):
        numeric, text = outcome.numeric, outcome.text
        if text and item["type"] == "text":
            text = seal(text)
    elif isinstance(outcome, Skipped):
        missing = MissingCode.skipped
    elif isinstance(outcome, Invalid):
        missing = MissingCode.invalid
    answer = response.add_answer(
        item_id=item["id"],
        position=len(response.answers) + 1,
        raw_value=seal(raw) if raw else raw,
        value_numeric=numeric,
        value_text=text,
        missing_code=missing,
        answered_at=now,
    )
    response.last_activity_at = now
    response.reasked = False
    return answer


def advance(response: ResponseState, questionnaire: dict[str, Any], now: datetime) -> dict | None:
    """Move past the current item to the next one branching shows; items branching hides are
    recorded as not presented. Returns the new current item, or None when the response is
    complete. A questionnaire whose branching uses the prompt's place in the day, or whose
    items a prompt shows in an order of its own (`shuffle`), must be the one the prompt
    presents (`context.presented`)."""
    context.require_place(questionnaire)
    context.require_order(questionnaire)
    items = questionnaire["items"]
    done = {answer.item_id for answer in response.answers}
    values = answered_values(response, questionnaire)
    for item in items:
        if item["id"] in done:
            continue
        condition = item.get("show_if")
        if condition and not parse(condition).evaluate(values):
            response.add_answer(
                item_id=item["id"],
                position=len(response.answers) + 1,
                missing_code=MissingCode.not_presented,
            )
            done.add(item["id"])
            continue
        response.current_item_id = item["id"]
        return item
    response.current_item_id = None
    response.status = ResponseStatus.completed
    response.completed_at = now
    return None


def close(response: Response, now: datetime) -> None:
    """The window closed mid-way: the response is partial; what was never reached is coded
    (the item awaiting a reply as `timeout`, later ones as `not_presented`), in the order the
    prompt shows its items."""
    if response.status is not ResponseStatus.in_progress:
        return
    questionnaire = context.in_prompt_order(questionnaire_of(response.prompt), response.prompt_id)
    done = {answer.item_id for answer in response.answers}
    for item in questionnaire["items"]:
        if item["id"] in done:
            continue
        code = (
            MissingCode.timeout
            if item["id"] == response.current_item_id
            else MissingCode.not_presented
        )
        response.add_answer(
            item_id=item["id"], position=len(response.answers) + 1, missing_code=code
        )
    response.current_item_id = None
    response.status = ResponseStatus.partial
    db.session.flush()


# Built once: it runs with every new conversation. (Closing lapsed responses, each tick:
# `responses.lapsed`.)
_OLDER_IN_PROGRESS = (
    sa.select(Response)
    .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
    .where(
        Response.status == ResponseStatus.in_progress,
        Response.channel == Channel.sms,
        PlannedPrompt.participant_id == sa.bindparam("participant_id"),
        PlannedPrompt.id != sa.bindparam("prompt_id"),
    )
)


_ANY_OLDER_IN_PROGRESS = _OLDER_IN_PROGRESS.with_only_columns(Response.id).limit(1)


def close_superseded(participant_id: int, current_prompt_id: int, now: datetime) -> None:
    """One conversation at a time: a newer prompt closes any older one still in progress."""
    params = {"participant_id": participant_id, "prompt_id": current_prompt_id}
    # Looked for in Core first: every new conversation asks, and there rarely is one.
    if core_execute(_ANY_OLDER_IN_PROGRESS, params).first() is None:
        return
    for response in db.session.scalars(_OLDER_IN_PROGRESS, params).all():
        close(response, now)
