"""Checks that need the whole protocol: references, branching, SMS length, fit of the day
(schedules in `schedule_checks`, SMS texts in `sms_checks`, expressions in
`expression_checks`, shuffled item lists in `shuffle_checks`).

They run on the raw file data even when parts of it are malformed (each element is loaded on its
own, and skipped here if its schema rejects it: that error is reported already), so a coordinator
sees every mistake in one run.
"""

from __future__ import annotations

from typing import Any

from eas.core.timeofday import optional_hhmm
from eas.protocols import piping
from eas.protocols.expression_checks import ExpressionChecks
from eas.protocols.findings import Finding, as_list, load_or_none
from eas.protocols.schedule_checks import ScheduleChecks
from eas.protocols.schemas import (
    AlertSchema,
    ItemSchema,
    ParticipantDefaultsSchema,
    ScheduleSchema,
    StudySchema,
)
from eas.protocols.shuffle_checks import ShuffleChecks
from eas.protocols.sms_checks import SmsChecks
from eas.protocols.yaml_source import Path
from eas.scheduling.fit import window_overlap_problem


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


class _ProtocolChecker(ExpressionChecks, ShuffleChecks, ScheduleChecks, SmsChecks):
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.findings: list[Finding] = []
        self.study = load_or_none(StudySchema(), raw.get("study"))
        defaults_raw = raw.get("participant_defaults", {})
        self.defaults = load_or_none(ParticipantDefaultsSchema(), defaults_raw) or {
            "wake": "09:00",
            "sleep": "22:00",
            "channel": "sms",
        }
        self.raw_questionnaires = as_list(raw.get("questionnaires"))
        #: Questionnaire id -> (index, its items each loaded on its own, None where invalid).
        self.questionnaires: dict[str, tuple[int, list[dict[str, Any] | None]]] = {}
        for index, raw_q in enumerate(self.raw_questionnaires):
            if isinstance(raw_q, dict) and isinstance(raw_q.get("id"), str):
                items = [load_or_none(ItemSchema(), item) for item in as_list(raw_q.get("items"))]
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
        raw_schedules = as_list(self.raw.get("schedules"))
        self.findings += _duplicates(raw_schedules, ("schedules",), "schedule")
        #: Every schedule its schema accepts, by index: what other schedules keep clear of.
        self.schedules = [
            (index, loaded)
            for index, raw_schedule in enumerate(raw_schedules)
            if isinstance(raw_schedule, dict)
            for loaded in [load_or_none(ScheduleSchema(), raw_schedule)]
            if loaded is not None
        ]
        keywords: dict[str, int] = {}
        for index, raw_schedule in enumerate(raw_schedules):
            self.check_schedule(index, raw_schedule, keywords)
        raw_alerts = as_list(self.raw.get("alerts"))
        self.findings += _duplicates(raw_alerts, ("alerts",), "alert")
        for index, raw_alert in enumerate(raw_alerts):
            self.check_alert(index, raw_alert)
        return self.findings

    # questionnaires -----------------------------------------------------------------------

    def check_questionnaire(self, q_index: int, raw_q: dict[str, Any]) -> None:
        raw_items = as_list(raw_q.get("items"))
        path = ("questionnaires", q_index, "items")
        self.findings += _duplicates(raw_items, path, "item")
        items = [load_or_none(ItemSchema(), item) for item in raw_items]
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
        self.check_item_texts(q_index, raw_q)
        self.check_shuffle(q_index, raw_q)

    def check_item_texts(self, q_index: int, raw_q: dict[str, Any]) -> None:
        """Placeholders in the items' texts (and the intro) name items that have an answer to
        show: an earlier item of this questionnaire, or an item of another one (answered in an
        earlier prompt). Not this item, nor a later one, unless another questionnaire has it."""
        positions = {
            item["id"]: position
            for position, item in enumerate(as_list(raw_q.get("items")))
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        elsewhere = {
            item["id"]
            for other in self.raw_questionnaires
            if isinstance(other, dict) and other is not raw_q
            for item in as_list(other.get("items"))
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        }
        base: Path = ("questionnaires", q_index)
        intro = raw_q.get("intro")
        if isinstance(intro, str):
            self.check_template((*base, "intro"), intro, positions, elsewhere, before=-1)
        elif isinstance(intro, dict):
            for channel, text in intro.items():
                if isinstance(text, str):
                    path = (*base, "intro", channel)
                    self.check_template(path, text, positions, elsewhere, before=-1)
        for position, raw_item in enumerate(as_list(raw_q.get("items"))):
            if not isinstance(raw_item, dict):
                continue
            for field in ("text", "sms_text"):
                text = raw_item.get(field)
                if isinstance(text, str):
                    path = (*base, "items", position, field)
                    self.check_template(path, text, positions, elsewhere, before=position)

    def check_template(
        self, path: Path, text: str, positions: dict[str, int], elsewhere: set[str], before: int
    ) -> None:
        try:
            parts = piping.parse_template(text)
        except piping.TemplateError as exc:
            self.add(path, exc.message, exc.offset)
            return
        for part in parts:
            if not isinstance(part, piping.Placeholder):
                continue
            name = part.item_id
            if name not in positions and name not in elsewhere:
                self.add(
                    path,
                    f"pipes unknown item '{name}': no questionnaire of the protocol has it",
                    part.offset,
                )
            elif name in positions and positions[name] >= before and name not in elsewhere:
                what = (
                    "its own answer"
                    if positions[name] == before
                    else f"item '{name}', which comes later"
                )
                where = "the intro comes before every item" if before < 0 else what
                self.add(
                    path,
                    f"pipes '{name}', which has no answer yet when this shows ({where}): pipe an "
                    "earlier item, or an item of another questionnaire",
                    part.offset,
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
        if not isinstance(raw.get("when"), str) or load_or_none(AlertSchema(), raw) is None:
            return
        in_scope = [scope] if isinstance(scope, str) else list(self.questionnaires)
        order: dict[str, int] = {}
        items_by_id: dict[str, dict[str, Any]] = {}
        for name in in_scope:
            q_index, items = self.questionnaires[name]
            for raw_item in as_list(self.raw_questionnaires[q_index].get("items")):
                if isinstance(raw_item, dict) and isinstance(raw_item.get("id"), str):
                    order.setdefault(raw_item["id"], 0)
            for item in items:
                if item:
                    items_by_id.setdefault(item["id"], item)
        self.check_expression((*path, "when"), raw["when"], order, items_by_id)


def check_cross_references(raw: dict[str, Any]) -> list[Finding]:
    return _ProtocolChecker(raw).run()
