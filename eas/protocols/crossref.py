"""Checks that need the whole protocol: references, branching, SMS length, fit of the day.

They run on the raw file data even when parts of it are malformed (each element is loaded on its
own, and skipped here if its schema rejects it: that error is reported already), so a coordinator
sees every mistake in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError

from eas.core.timeofday import optional_hhmm
from eas.delivery.segments import count_segments
from eas.protocols import expressions
from eas.protocols.schemas import (
    AlertSchema,
    ItemSchema,
    ParticipantDefaultsSchema,
    ScheduleSchema,
    StudySchema,
)
from eas.protocols.sms_format import opening_text, render_item
from eas.protocols.yaml_source import Path
from eas.scheduling.fit import random_fit_problem, window_overlap_problem

#: Words the SMS conversation reserves; an event keyword must not collide with them.
RESERVED_KEYWORDS = frozenset(
    {
        *("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
        *("START", "UNSTOP", "YES", "NO", "Y", "N", "HELP", "INFO", "SKIP"),
    }
)


@dataclass(frozen=True)
class Finding:
    path: Path
    message: str
    #: Characters into the value (for expressions), to point at the exact spot.
    offset: int | None = None


def _load(schema: Schema, raw: Any) -> dict[str, Any] | None:
    try:
        return schema.load(raw)
    except ValidationError:
        return None


def _duplicates(raw_list: list[Any], path: Path, what: str) -> list[Finding]:
    seen: dict[str, int] = {}
    findings = []
    for index, element in enumerate(raw_list):
        ident = element.get("id") if isinstance(element, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in seen:
            findings.append(
                Finding(
                    (*path, index, "id"),
                    f"duplicate {what} id '{ident}' (also {path[-1]}[{seen[ident]}])",
                )
            )
        else:
            seen[ident] = index
    return findings


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class _ProtocolChecker:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.findings: list[Finding] = []
        self.study = _load(StudySchema(), raw.get("study"))
        defaults_raw = raw.get("participant_defaults", {})
        self.defaults = _load(ParticipantDefaultsSchema(), defaults_raw) or {
            "wake": "09:00",
            "sleep": "22:00",
            "channel": "sms",
        }
        self.raw_questionnaires = _as_list(raw.get("questionnaires"))
        #: Questionnaire id -> (index, its items each loaded on its own, None where invalid).
        self.questionnaires: dict[str, tuple[int, list[dict[str, Any] | None]]] = {}
        for index, raw_q in enumerate(self.raw_questionnaires):
            if isinstance(raw_q, dict) and isinstance(raw_q.get("id"), str):
                items = [_load(ItemSchema(), item) for item in _as_list(raw_q.get("items"))]
                self.questionnaires.setdefault(raw_q["id"], (index, items))
        self.sms_checked: set[str] = set()

    def add(self, path: Path, message: str, offset: int | None = None) -> None:
        self.findings.append(Finding(path, message, offset))

    def run(self) -> list[Finding]:
        overlap = window_overlap_problem(
            optional_hhmm(self.defaults["wake"]),
            optional_hhmm(self.defaults["sleep"]),
            optional_hhmm(self.defaults.get("weekend_wake")),
            optional_hhmm(self.defaults.get("weekend_sleep")),
        )
        if overlap:
            self.add(("participant_defaults", "sleep"), overlap)
        self.findings += _duplicates(self.raw_questionnaires, ("questionnaires",), "questionnaire")
        for index, raw_q in enumerate(self.raw_questionnaires):
            if isinstance(raw_q, dict):
                self.check_questionnaire(index, raw_q)
        raw_schedules = _as_list(self.raw.get("schedules"))
        self.findings += _duplicates(raw_schedules, ("schedules",), "schedule")
        keywords: dict[str, int] = {}
        for index, raw_schedule in enumerate(raw_schedules):
            self.check_schedule(index, raw_schedule, keywords)
        raw_alerts = _as_list(self.raw.get("alerts"))
        self.findings += _duplicates(raw_alerts, ("alerts",), "alert")
        for index, raw_alert in enumerate(raw_alerts):
            self.check_alert(index, raw_alert)
        return self.findings

    # questionnaires -----------------------------------------------------------------------

    def check_questionnaire(self, q_index: int, raw_q: dict[str, Any]) -> None:
        raw_items = _as_list(raw_q.get("items"))
        path = ("questionnaires", q_index, "items")
        self.findings += _duplicates(raw_items, path, "item")
        items = [_load(ItemSchema(), item) for item in raw_items]
        items_by_id = {item["id"]: item for item in reversed(items) if item}
        order = {
            item["id"]: position
            for position, item in enumerate(raw_items)
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        for position, raw_item in enumerate(raw_items):
            if not isinstance(raw_item, dict) or not isinstance(raw_item.get("show_if"), str):
                continue
            self.check_expression(
                (*path, position, "show_if"),
                raw_item["show_if"],
                order,
                items_by_id,
                before=position,
                own_id=raw_item.get("id"),
            )

    def check_expression(
        self,
        path: Path,
        source: str,
        order: dict[str, int],
        items_by_id: dict[str, dict[str, Any]],
        *,
        before: int | None = None,
        own_id: str | None = None,
    ) -> None:
        try:
            expression = expressions.parse(source)
        except expressions.ExpressionError as exc:
            self.add(path, exc.message, exc.offset)
            return
        for name, offset in expression.name_offsets():
            if name not in order:
                known = ", ".join(sorted(order)) or "none"
                self.add(path, f"names unknown item '{name}' (items here: {known})", offset)
            elif before is not None and name == own_id:
                self.add(path, f"item '{name}' cannot depend on itself", offset)
            elif before is not None and order[name] > before:
                self.add(
                    path,
                    f"names item '{name}', which comes later; show_if may only use earlier items",
                    offset,
                )
        for comparison in expression.comparisons():
            item = items_by_id.get(comparison.item_id)
            if item is not None:
                problem = _comparison_problem(item, comparison)
                if problem:
                    self.add(path, problem, comparison.offset)

    # schedules ----------------------------------------------------------------------------

    def check_schedule(self, index: int, raw: Any, keywords: dict[str, int]) -> None:
        if not isinstance(raw, dict):
            return
        path: Path = ("schedules", index)
        name = raw.get("questionnaire")
        if isinstance(name, str) and name not in self.questionnaires:
            known = ", ".join(sorted(self.questionnaires)) or "none"
            self.add((*path, "questionnaire"), f"unknown questionnaire '{name}' (known: {known})")
        schedule = _load(ScheduleSchema(), raw)
        if schedule is None:
            return
        duration = self.study["duration_days"] if self.study else None
        if duration is not None:
            for day_index, day in enumerate(schedule.get("days", [])):
                if day > duration:
                    self.add(
                        (*path, "days", day_index),
                        f"day {day} is after the study's last day ({duration})",
                    )
            if schedule["type"] == "once" and schedule["day"] > duration:
                self.add(
                    (*path, "day"),
                    f"day {schedule['day']} is after the study's last day ({duration})",
                )
        if schedule["type"] == "event":
            keyword = schedule["keyword"].upper()
            if keyword in RESERVED_KEYWORDS:
                self.add((*path, "keyword"), f"'{keyword}' is reserved for SMS commands")
            elif keyword in keywords:
                self.add(
                    (*path, "keyword"),
                    f"keyword '{keyword}' is also used by schedules[{keywords[keyword]}]",
                )
            keywords.setdefault(keyword, index)
        if schedule["type"] == "random":
            self.check_random_fit(path, schedule)
        channel = schedule.get("channel", self.defaults["channel"])
        name = schedule["questionnaire"]
        if name in self.questionnaires and channel == "sms" and name not in self.sms_checked:
            self.sms_checked.add(name)
            self.check_sms_length(*self.questionnaires[name])
            self.check_opening(*self.questionnaires[name])
            self.check_sms_messages(self.questionnaires[name][0])
        for r_index, reminder in enumerate(schedule["reminders"]):
            if "text" in reminder:
                self.check_sms_text((*path, "reminders", r_index, "text"), reminder["text"])

    def check_random_fit(self, path: Path, schedule: dict[str, Any]) -> None:
        defaults = self.defaults
        problem = random_fit_problem(
            schedule,
            optional_hhmm(defaults["wake"]),
            optional_hhmm(defaults["sleep"]),
            optional_hhmm(defaults.get("weekend_wake")),
            optional_hhmm(defaults.get("weekend_sleep")),
            zone=self.study["timezone"] if self.study else "UTC",
            waking="default waking day (participant_defaults)",
        )
        if problem:
            self.add((*path, "per_day"), problem)

    def check_sms_length(self, q_index: int, items: list[dict[str, Any] | None]) -> None:
        limit = self.study["sms"]["max_segments"] if self.study else 2
        for position, item in enumerate(items):
            if item is None:
                continue
            text = render_item(item, position + 1, len(items))
            count = count_segments(text)
            if count.segments > limit:
                field = "sms_text" if "sms_text" in item else "text"
                self.add(
                    ("questionnaires", q_index, "items", position, field),
                    f"as a text message this item needs {count.segments} SMS segments "
                    f"({count.units} {count.encoding} characters with its answer hint); the "
                    f"study allows {limit}: shorten it or add a shorter sms_text",
                )

    def sms_intro(self, q_index: int) -> tuple[Path, str] | None:
        """The intro an SMS conversation opens with, and where the file says it."""
        intro = self.raw_questionnaires[q_index].get("intro")
        path: Path = ("questionnaires", q_index, "intro")
        if isinstance(intro, dict):
            intro, path = intro.get("sms"), (*path, "sms")
        return (path, intro) if isinstance(intro, str) else None

    def check_opening(self, q_index: int, items: list[dict[str, Any] | None]) -> None:
        """The intro goes out in one text with the first item: together they must fit."""
        found = self.sms_intro(q_index)
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

    # alerts -------------------------------------------------------------------------------

    def check_alert(self, index: int, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        path: Path = ("alerts", index)
        scope = raw.get("questionnaire")
        if isinstance(scope, str) and scope not in self.questionnaires:
            known = ", ".join(sorted(self.questionnaires)) or "none"
            self.add((*path, "questionnaire"), f"unknown questionnaire '{scope}' (known: {known})")
            return
        if isinstance(raw.get("reply"), str):
            self.check_sms_text((*path, "reply"), raw["reply"])
        if not isinstance(raw.get("when"), str) or _load(AlertSchema(), raw) is None:
            return
        in_scope = [scope] if isinstance(scope, str) else list(self.questionnaires)
        order: dict[str, int] = {}
        items_by_id: dict[str, dict[str, Any]] = {}
        for name in in_scope:
            q_index, items = self.questionnaires[name]
            for raw_item in _as_list(self.raw_questionnaires[q_index].get("items")):
                if isinstance(raw_item, dict) and isinstance(raw_item.get("id"), str):
                    order.setdefault(raw_item["id"], 0)
            for item in items:
                if item:
                    items_by_id.setdefault(item["id"], item)
        self.check_expression((*path, "when"), raw["when"], order, items_by_id)


def _comparison_problem(item: dict[str, Any], comparison: expressions.Comparison) -> str | None:
    kind, name = item["type"], item["id"]
    if kind == "multi_choice" and not comparison.item_is_container:
        return (
            f"'{name}' is a multi_choice item (a set of choices): test a choice with "
            f"'value' in {name}"
        )
    if comparison.item_is_container and kind not in ("multi_choice", "text"):
        return f"'{name}' holds one value: write {name} in [...] to test several"
    for literal in comparison.literals:
        if kind == "yes_no" and not isinstance(literal, bool):
            return f"'{item['id']}' is a yes/no item: compare it with yes or no, not {literal!r}"
        if kind in ("scale", "slider", "number"):
            if isinstance(literal, bool) or not isinstance(literal, int | float):
                return f"'{item['id']}' is a {kind} item: compare it with a number, not {literal!r}"
            low, high = item.get("min"), item.get("max")
            if (low is not None and literal < low) or (high is not None and literal > high):
                return f"{literal!r} is outside '{item['id']}' range {_range_text(low, high)}"
        if kind in ("choice", "multi_choice"):
            values = [option["value"] for option in item["options"]]
            if literal not in values:
                listed = ", ".join(repr(value) for value in values)
                return f"{literal!r} is not an option of '{item['id']}' (options: {listed})"
    return None


def _range_text(low: float | None, high: float | None) -> str:
    """A number item's range; either bound may be open (a scale or slider has both)."""
    if low is None:
        return f"(at most {high:g})"
    if high is None:
        return f"(at least {low:g})"
    return f"{low:g}-{high:g}"


def check_cross_references(raw: dict[str, Any]) -> list[Finding]:
    return _ProtocolChecker(raw).run()
