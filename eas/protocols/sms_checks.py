"""Checks of what goes out by SMS: each item, intro and message within the study's segments,
and what an SMS conversation's first text can show."""

from __future__ import annotations

from typing import Any

from eas.delivery.segments import count_segments
from eas.protocols import piping
from eas.protocols.sms_format import estimated_item, opening_text
from eas.protocols.yaml_source import Path


class SmsChecks:
    """Part of the protocol checker (`crossref`): its state is the checker's."""

    def check_sms_length(self, q_index: int, items: list[dict[str, Any] | None]) -> None:
        limit = self.study["sms"]["max_segments"] if self.study else 2
        for position, item in enumerate(items):
            if item is None:
                continue
            text = estimated_item(item, position + 1, len(items))
            count = count_segments(text)
            if count.segments > limit:
                field = "sms_text" if "sms_text" in item else "text"
                piped = (
                    f", each {{placeholder}} counted as {piping.ESTIMATED_LENGTH} characters"
                    if piping.placeholders(item[field])
                    else ""
                )
                self.add(
                    ("questionnaires", q_index, "items", position, field),
                    f"as a text message this item needs {count.segments} SMS segments "
                    f"({count.units} {count.encoding} characters with its answer hint{piped}); "
                    f"the study allows {limit}: shorten it or add a shorter sms_text",
                )

    def sms_intro(self, q_index: int) -> tuple[Path, str] | None:
        """The intro an SMS conversation opens with, and where the file says it."""
        intro = self.raw_questionnaires[q_index].get("intro")
        path: Path = ("questionnaires", q_index, "intro")
        if isinstance(intro, dict):
            intro, path = intro.get("sms"), (*path, "sms")
        return (path, intro) if isinstance(intro, str) else None

    def check_opening(self, q_index: int, items: list[dict[str, Any] | None]) -> None:
        """The intro goes out in one text with the first item: together they must fit. The
        dispatcher writes that text when the prompt is due: it cannot pipe answers."""
        found = self.sms_intro(q_index)
        self.check_opening_pipes(q_index, found, items)
        if found is None or not items or items[0] is None:
            return
        path, intro = found
        limit = self.study["sms"]["max_segments"] if self.study else 2
        count = count_segments(opening_text({"intro": intro, "items": items}))
        if count.segments > limit and count_segments(intro).segments <= limit:
            self.add(
                path,
                f"sent with the first item, this needs {count.segments} SMS segments "
                f"({count.units} {count.encoding} characters); the study allows {limit}",
            )

    def check_opening_pipes(
        self, q_index: int, intro: tuple[Path, str] | None, items: list[dict[str, Any] | None]
    ) -> None:
        texts = [intro] if intro is not None else []
        if items and items[0] is not None:
            field = "sms_text" if "sms_text" in items[0] else "text"
            texts.append((("questionnaires", q_index, "items", 0, field), items[0][field]))
        for path, text in texts:
            for placeholder in piping.placeholders(text):
                self.add(
                    path,
                    f"the first text of an SMS prompt (the intro and the first item) is written "
                    f"when the prompt is sent and cannot show answers: move "
                    f"{{{placeholder.item_id}}} to a later item",
                    placeholder.offset,
                )

    def check_sms_messages(self, q_index: int) -> None:
        raw_q = self.raw_questionnaires[q_index]
        intro = self.sms_intro(q_index)
        if intro is not None:
            self.check_sms_text(*intro)
        if isinstance(raw_q.get("thanks"), str):
            self.check_sms_text(("questionnaires", q_index, "thanks"), raw_q["thanks"])

    def check_sms_text(self, path: Path, text: str) -> None:
        limit = self.study["sms"]["max_segments"] if self.study else 2
        count = count_segments(text)
        if count.segments > limit:
            self.add(
                path,
                f"as a text message this needs {count.segments} SMS segments ({count.units} "
                f"{count.encoding} characters); the study allows {limit}",
            )
