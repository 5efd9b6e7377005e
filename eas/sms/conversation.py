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

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from eas.delivery.compose import prompt_text
from eas.participants.models import Channel
from eas.protocols.expressions import parse
from eas.protocols.piping import SMS_VALUE_LIMIT
from eas.protocols.sms_format import closing_text, render_item
from eas.responses import context
from eas.responses import operations as responses
from eas.responses import state as response_state
from eas.responses.models import ResponseStatus
from eas.responses.progress import PromptProgress
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
from eas.responses.state import ResponseState
from eas.safety.operations import Kind, Reply, raise_triggered
from eas.scheduling import events
from eas.sms import texts
from eas.sms.keywords import mentions_opt_out

if TYPE_CHECKING:
    from eas.sms.senders import Sender

#: How long after a check-in closed a late reply is told so (later: the general note).
_LATE_REPLY_NOTICE = timedelta(hours=12)


def reply(sender: Sender, message, body: str, now: datetime) -> list[Reply]:
    """Answer one inbound text from an active (or paused) participant: the replies to send back
    (through `safety_first`), in the sender's conversation as it stood before this text.
    `message`: the text, to be stored once understood (its `prompt_id` is set here to the
    prompt it answers, and stored with it)."""
    definition = sender.definition
    current = sender.conversation
    if current is not None and current.is_open(now):
        message.prompt_id = current.prompt_id
        return _continue(sender, current, body, now)
    schedule = events.event_schedule(definition, body, arm=sender.arm)
    if schedule is not None:
        report, refusal = events.start_report(
            sender.participant(),
            schedule,
            now,
            Channel.sms,
            version_id=sender.version_id,
            definition=definition,
        )
        if report is None:
            return [Reply(refusal)]
        message.prompt_id = report.id
        responses.close_superseded(sender.id, report.id, now)
        return [Reply(prompt_text(report, None, definition))]
    if current is not None:
        message.prompt_id = current.prompt_id
        if current.status is ResponseStatus.completed:
            if now < current.expires_at:
                return [Reply(texts.ALREADY_DONE, Kind.courtesy)]
        elif now - current.closes_at() < _LATE_REPLY_NOTICE:
            return [Reply(texts.CLOSED, Kind.courtesy)]
    return [Reply(texts.nothing_open(definition, sender.arm), Kind.courtesy)]


def pending_question(sender: Sender, now: datetime) -> list[Reply]:
    """The question an open check-in waits for (none when nothing is open), as it was asked."""
    current = sender.conversation
    if current is None or not current.is_open(now):
        return []
    questionnaire = current.questionnaire(_definition(sender, current))
    items = [item["id"] for item in questionnaire["items"]]
    response = current.response(encrypts_free_text=False)
    waiting = response.current_item_id if response is not None else items[0]
    if waiting is None:
        return []
    return [
        Reply(_question(questionnaire, waiting, lambda: current.answered_values(questionnaire)))
    ]


def _question(
    questionnaire: dict[str, Any], item_id: str, values: Callable[[], dict[str, Any]]
) -> str:
    """An item as its text asks it, with what it pipes: the answers so far (`values()`, as
    branching sees them; read only for a text that pipes) or the participant's earlier ones."""
    items = questionnaire["items"]
    position = next(index for index, item in enumerate(items) if item["id"] == item_id)
    item = items[position]
    shown = None
    if "{" in (item.get("sms_text") or item["text"]):
        shown = context.lookup(questionnaire, values(), limit=SMS_VALUE_LIMIT)
    return render_item(item, position + 1, len(items), shown)


def _definition(sender: Sender, current: PromptProgress) -> dict[str, Any]:
    """The protocol the conversation's prompt was sent under."""
    if current.protocol_version_id == sender.version_id:
        return sender.definition
    return current.definition()


def _continue(sender: Sender, current: PromptProgress, body: str, now: datetime) -> list[Reply]:
    """The next text of the conversation and the reply of any safety alert it set off (which
    `safety_first` sends first)."""
    definition = _definition(sender, current)
    # As this prompt presents it: its place in the day and the earlier answers it pipes.
    questionnaire = current.questionnaire(definition)
    seals = sender.definition["study"]["privacy"]["encrypt_free_text"]
    response = current.response(encrypts_free_text=seals)
    if response is None:
        response = response_state.start(
            current.prompt_id,
            Channel.sms,
            questionnaire["items"][0]["id"],
            now,
            encrypts_free_text=seals,
        )
        responses.close_superseded(sender.id, current.prompt_id, now)
    before = responses.answered_values(response, questionnaire)
    step = _step(response, questionnaire, body, now)
    response_state.save(response)
    # Rules over answers here; keywords are matched in every text, in `sms.inbound`.
    after = responses.answered_values(response, questionnaire)
    alerts = raise_triggered(
        sender,
        definition,
        current.prompt_id,
        questionnaire["id"],
        before,
        after,
        [],
        channel="sms",
        now=now,
    )
    return [step, *alerts]


def _step(
    response: ResponseState, questionnaire: dict[str, Any], body: str, now: datetime
) -> Reply:
    """Record what `body` answers and move on: the next text of the conversation (the next
    question, or the questionnaire's thanks)."""
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
        asked = functools.partial(responses.answered_values, response, questionnaire)
        # Before recording: the question as it was asked.
        question = _question(questionnaire, item["id"], asked)
        if isinstance(outcome, Invalid) and mentions_opt_out(body):
            # Not a wrong answer: they may want to stop. Say how; the question still waits.
            response.last_activity_at = now
            return Reply(f"{texts.HOW_TO_STOP}\n{question}", plainly=question)
        if isinstance(outcome, Invalid) and not response.reasked:
            response.reasked = True
            response.last_activity_at = now
            return Reply(texts.REASK.format(hint=outcome.hint), plainly=question)
        if isinstance(outcome, Invalid):
            lead = texts.MOVE_ON + "\n"
        responses.record(response, item, outcome, body, now)
        responses.advance(response, questionnaire, now)
    if response.current_item_id is None:
        return Reply(lead + closing_text(questionnaire), Kind.courtesy)
    after = functools.partial(responses.answered_values, response, questionnaire)
    question = _question(questionnaire, response.current_item_id, after)
    return Reply(lead + question, plainly=question if lead else None)


def _compact_outcomes(
    response: ResponseState, questionnaire: dict[str, Any], item: dict[str, Any], body: str
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
