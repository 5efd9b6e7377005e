"""The text of a prompt's first message, and of its reminders."""

from __future__ import annotations

from typing import Any

from eas.protocols.sms_format import opening_text
from eas.responses import context
from eas.scheduling.models import PlannedPrompt


def _questionnaire(definition: dict[str, Any], questionnaire_id: str) -> dict[str, Any]:
    return next(q for q in definition["questionnaires"] if q["id"] == questionnaire_id)


def prompt_text(
    prompt: PlannedPrompt, link: str | None, definition: dict[str, Any] | None = None
) -> str:
    """SMS prompts open with the questionnaire's intro and its first question (the conversation
    continues as the participant replies); web prompts carry their link. `definition`: the
    prompt's protocol, when the caller has it decoded already.

    The first question is the first of the prompt's item order (a `shuffle` list may hold the
    first item: `context.in_prompt_order`, as the conversation presents it; no query). The
    rest of what `context.presented` adds is no concern of this text: the validator refuses
    piping and place-in-the-day conditions in whatever may open an SMS prompt."""
    if definition is None:
        definition = prompt.protocol_version.definition
    questionnaire = _questionnaire(definition, prompt.questionnaire_id)
    title = questionnaire.get("title") or questionnaire["id"].replace("_", " ").capitalize()
    if prompt.channel.value == "web" and link:
        return f"{title}: {link}"
    return opening_text(context.in_prompt_order(questionnaire, prompt.id))


def reminder_text(prompt: PlannedPrompt, number: int, link: str | None) -> str:
    definition = prompt.protocol_version.definition
    schedule = next(s for s in definition["schedules"] if s["id"] == prompt.schedule_id)
    reminders = schedule.get("reminders", [])
    custom = reminders[number - 1].get("text") if number <= len(reminders) else None
    return custom or f"Reminder: {prompt_text(prompt, link)}"
