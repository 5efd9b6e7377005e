"""Checks of the schedules that need the whole protocol: the questionnaire each names, its days
within the study, event keywords, arms, and whether it fits the day beside the others."""

from __future__ import annotations

from typing import Any

from eas.core.timeofday import optional_hhmm
from eas.protocols import design_checks
from eas.protocols.findings import RESERVED_KEYWORDS, Finding, load_or_none
from eas.protocols.schedule_schemas import ScheduleSchema
from eas.protocols.yaml_source import Path
from eas.scheduling.fit import random_fit_problem


class ScheduleChecks:
    """Part of the protocol checker (`crossref`): its state is the checker's."""

    def check_schedule(self, index: int, raw: Any, keywords: dict[str, int]) -> None:
        if not isinstance(raw, dict):
            return
        path: Path = ("schedules", index)
        name = raw.get("questionnaire")
        if isinstance(name, str) and name not in self.questionnaires:
            known = ", ".join(sorted(self.questionnaires)) or "none"
            self.add((*path, "questionnaire"), f"unknown questionnaire '{name}' (known: {known})")
        schedule = load_or_none(ScheduleSchema(), raw)
        if schedule is None:
            return
        duration = self.study["duration_days"] if self.study else None
        if isinstance(duration, int):  # not until_withdrawn
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
        self.check_arms(index, schedule)
        if schedule["type"] == "random":
            self.check_random_fit(index, schedule)
        self.check_design(index, schedule)
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

    def check_arms(self, index: int, schedule: dict[str, Any]) -> None:
        arms = (self.study or {}).get("arms", {}).get("names", [])
        for position, name in enumerate(schedule.get("arms", [])):
            if name not in arms:
                known = (
                    f"the study's arms are {', '.join(arms)}" if arms else "study.arms is not set"
                )
                self.add(("schedules", index, "arms", position), f"unknown arm '{name}' ({known})")

    def waking_day(self) -> tuple:
        defaults = self.defaults
        return tuple(
            optional_hhmm(defaults.get(name))
            for name in ("wake", "sleep", "weekend_wake", "weekend_sleep")
        )

    def check_design(self, index: int, schedule: dict[str, Any]) -> None:
        path: Path = ("schedules", index)
        wake, sleep, *weekend = self.waking_day()
        checks = design_checks.cut_short(
            path,
            schedule,
            self.study.get("overlap", "close_previous") if self.study else "close_previous",
            design_checks.channel_of(schedule, self.defaults),
        )
        if schedule["type"] == "interval":
            checks += design_checks.interval_time_left(path, schedule, wake, sleep, tuple(weekend))
        for where, message, warning in checks:
            self.findings.append(Finding(where, message, warning=warning))

    def check_random_fit(self, index: int, schedule: dict[str, Any]) -> None:
        defaults = self.defaults
        path: Path = ("schedules", index)
        kept_clear = ()
        if design_checks.channel_of(schedule, defaults) == "sms":
            kept_clear = design_checks.kept_clear_of(self.schedules, index, defaults)
        problem = random_fit_problem(
            schedule,
            optional_hhmm(defaults["wake"]),
            optional_hhmm(defaults["sleep"]),
            optional_hhmm(defaults.get("weekend_wake")),
            optional_hhmm(defaults.get("weekend_sleep")),
            zone=self.study["timezone"] if self.study else "UTC",
            waking="default waking day (participant_defaults)",
            kept_clear=kept_clear,
        )
        if problem:
            self.add((*path, "blocks" if "blocks" in schedule else "per_day"), problem)
