"""Which of the protocol's safety alerts an answer sets off, the moment it is stored.

An alert fires when its `when` expression becomes true on the response's answers (it was not
true before this answer) or when one of its `keywords` appears in the text just received (an SMS
reply, a free-text answer). Recording alerts and telling coordinators is the safety module's
job; here the participant's side: which replies to show or send at once.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from eas.protocols.expressions import parse
from eas.responses.replies import normalise


def _applies(alert: dict[str, Any], questionnaire_id: str) -> bool:
    return alert.get("questionnaire") in (None, questionnaire_id)


def keyword_hit(alert: dict[str, Any], text: str) -> bool:
    keywords = alert.get("keywords")
    return bool(keywords) and _keywords_pattern(tuple(keywords)).search(normalise(text)) is not None


@functools.lru_cache(maxsize=256)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern:
    """Any of `keywords` as whole words (every text is matched: built once per list)."""
    words = "|".join(re.escape(normalise(keyword)) for keyword in keywords)
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)")


def newly_triggered(
    definition: dict[str, Any],
    questionnaire_id: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    texts: list[str],
) -> list[tuple[dict[str, Any], str]]:
    """Alerts that this step sets off, each with what did ("rule" or "keyword"): `before` and
    `after` are the answers (as branching sees them) around it, `texts` what the participant
    wrote in it. Without a questionnaire (a text outside any check-in) only alerts that are
    not limited to one questionnaire apply."""
    fired = []
    for alert in definition.get("alerts", []):
        if not _applies(alert, questionnaire_id):
            continue
        condition = alert.get("when")
        if condition and parse(condition).evaluate(after) and not parse(condition).evaluate(before):
            fired.append((alert, "rule"))
        elif any(keyword_hit(alert, text) for text in texts if text):
            fired.append((alert, "keyword"))
    return fired
