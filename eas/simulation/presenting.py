"""What an SMS check-in's questions follow that its texts do not tell a synthetic participant:
the prompt's place in the day, where branching uses it (`show_if: last_beep`), and the order of
its items, where the questionnaire shuffles some (`shuffle`). A person reads the question on
their phone; a synthetic one answers the item its "n/N" counter names, so it must know the
order the counter follows. Both come from the server (`responses.context`), for the participant's
SMS prompt whose first text just arrived: the exception to the rule that synthetic participants
know only what their phone says (see `engine`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.responses import context
from eas.scheduling.models import WENT_OUT_AT, WENT_OUT_BY_SMS, PlannedPrompt
from eas.simulation.checkins import CheckIn

#: A participant's latest SMS prompt that went out: the one whose first text just arrived.
_LATEST_SMS = (
    sa.select(PlannedPrompt.id)
    .where(PlannedPrompt.participant_id == sa.bindparam("participant_id"), WENT_OUT_BY_SMS)
    .order_by(WENT_OUT_AT.desc(), PlannedPrompt.id.desc())
    .limit(1)
)


def learn_prompt(
    check_in: CheckIn, questionnaire: dict[str, Any], participant_id: int, definition: dict
) -> None:
    """Give a new SMS check-in of `questionnaire` its prompt's place in the day (with the
    answers branching sees) and its items in the prompt's order (`CheckIn.shown`), where the
    questionnaire uses them (one query; none where it uses neither)."""
    place = context.uses_place(questionnaire)
    if not (place or questionnaire.get("shuffle")):
        return
    prompt_id = core_execute(_LATEST_SMS, {"participant_id": participant_id}).scalar_one()
    if place:
        check_in.values.update(context.place_of(prompt_id, definition).names())
    check_in.shown = context.in_prompt_order(questionnaire, prompt_id)
