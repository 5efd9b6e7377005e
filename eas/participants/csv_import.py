"""Read a participants CSV: every bad row named, and nothing returned unless all rows are good."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import phonenumbers

from eas.core.timeofday import parse_hhmm
from eas.participants.models import Channel
from eas.protocols.design_checks import channel_of, interval_time_left, kept_clear_of
from eas.protocols.schemas import iana_zones
from eas.scheduling.fit import random_fit_problem, window_overlap_problem

REQUIRED_COLUMNS = ("label", "phone", "timezone")
OPTIONAL_COLUMNS = (
    "wake",
    "sleep",
    "weekend_wake",
    "weekend_sleep",
    "start_date",
    "channel",
    "group",
    "arm",
)
_LABEL_MAX = 64
_LABEL = re.compile(r"[^\W][\w.-]*")
#: Study days are planned from the first one on: a typo like 9999 must not reach the planner.
_EARLIEST_START, _LATEST_START = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def format(self, source_name: str) -> str:
        field = f" {self.column}:" if self.column else ""
        return f"{source_name}:{self.line}:{field} {self.message}"


@dataclass(frozen=True)
class ParticipantRow:
    line: int
    label: str
    phone: str  # E.164
    timezone: str
    wake: time
    sleep: time
    weekend_wake: time | None
    weekend_sleep: time | None
    channel: Channel
    #: None when the file leaves it blank: set by the protocol's `study.start` rule.
    start_date: date | None
    #: Label of the dyad or group the participant belongs to, if any.
    group: str | None
    #: The arm the CSV gives (studies whose protocol says `study.arms.assign: csv`).
    arm: str | None = None
    #: The `study.arms.stratify_by` column's value (arms balanced within strata).
    stratum: str | None = None


@dataclass(frozen=True)
class ParsedCsv:
    rows: list[ParticipantRow]
    errors: list[RowError]


class CsvInvalid(ValueError):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _random_schedules(definition: dict[str, Any]) -> list[tuple[dict[str, Any], tuple]]:
    """Random schedules, each with the fixed SMS times its draws keep clear of: whether they
    fit depends on the participant's hours (relative windows, the waking day) and zone (its
    clock changes), also with a window of clock times."""
    indexed = list(enumerate(definition["schedules"]))
    defaults = definition["participant_defaults"]
    return [
        (schedule, kept_clear_of(indexed, index, defaults))
        for index, schedule in indexed
        if schedule["type"] == "random"
    ]


def stratum_column(definition: dict[str, Any]) -> str | None:
    """The column whose values arms are balanced within (`study.arms.stratify_by`), if any."""
    arms = definition["study"].get("arms")
    if arms is None or arms["assign"] != "balanced":
        return None
    return arms.get("stratify_by")


class _RowParser:
    def __init__(self, definition: dict[str, Any], phone_region: str) -> None:
        self.defaults = definition["participant_defaults"]
        self.random_schedules = _random_schedules(definition)
        self.interval_schedules = [s for s in definition["schedules"] if s["type"] == "interval"]
        self.arms = definition["study"].get("arms")
        self.stratum_column = stratum_column(definition)
        self.phone_region = phone_region
        self.errors: list[RowError] = []
        self.first_line_of: dict[tuple[str, str], int] = {}

    def error(self, line: int, column: str | None, message: str) -> None:
        self.errors.append(RowError(line, column, message))

    def parse(self, line: int, raw: dict[str, str]) -> ParticipantRow | None:
        values = {key: (value or "").strip() for key, value in raw.items() if key}
        before = len(self.errors)
        label = values.get("label", "")
        if not label:
            self.error(line, "label", "is empty")
        elif len(label) > _LABEL_MAX:
            self.error(line, "label", f"is longer than {_LABEL_MAX} characters")
        elif not _LABEL.fullmatch(label):
            # Labels name pages (/participants/<label>) and files: no slashes, no dot paths.
            self.error(
                line,
                "label",
                f"'{label}' may hold letters, digits, '-', '_' and '.', and not start with '.'",
            )
        phone = self._phone(line, values.get("phone", ""))
        for key, value in (("label", label), ("phone", phone)):
            if not value:
                continue
            if (key, value) in self.first_line_of:
                self.error(line, key, f"same {key} as line {self.first_line_of[key, value]}")
            else:
                self.first_line_of[key, value] = line
        zone = values.get("timezone", "")
        if zone not in iana_zones():
            self.error(
                line, "timezone", f"'{zone}' is not an IANA time zone (e.g. America/Chicago)"
            )
        wake = self._time(line, "wake", values.get("wake") or self.defaults["wake"])
        sleep = self._time(line, "sleep", values.get("sleep") or self.defaults["sleep"])
        weekend = [
            self._time(line, column, text) if text else None
            for column in ("weekend_wake", "weekend_sleep")
            for text in [values.get(column) or self.defaults.get(column)]
        ]
        if (weekend[0] is None) != (weekend[1] is None) and len(self.errors) == before:
            self.error(line, "weekend_sleep", "give weekend_wake and weekend_sleep together")
        if wake is not None and sleep is not None:
            where = zone if zone in iana_zones() else "UTC"
            self._check_window(line, where, wake, sleep, *weekend, arm=self._known_arm(values))
        channel_text = (values.get("channel") or self.defaults["channel"]).lower()
        channel = Channel.__members__.get(channel_text)
        if channel is None:
            self.error(line, "channel", f"'{channel_text}' is not a channel (sms or web)")
        start_date = None
        if values.get("start_date"):
            try:
                start_date = date.fromisoformat(values["start_date"])
            except ValueError:
                self.error(
                    line, "start_date", f"'{values['start_date']}' is not a date (YYYY-MM-DD)"
                )
            else:
                if not _EARLIEST_START <= start_date <= _LATEST_START:
                    self.error(
                        line,
                        "start_date",
                        f"{start_date} is not a plausible first study day "
                        f"({_EARLIEST_START.year}-{_LATEST_START.year})",
                    )
                    start_date = None
        group = values.get("group") or None
        if group is not None and len(group) > _LABEL_MAX:
            self.error(line, "group", f"is longer than {_LABEL_MAX} characters")
        arm = self._arm(line, values.get("arm", ""))
        stratum = self._stratum(line, values) if self.stratum_column else None
        if len(self.errors) > before:
            return None
        return ParticipantRow(
            line,
            label,
            phone,
            zone,
            wake,
            sleep,
            *weekend,
            channel,
            start_date,
            group,
            arm,
            stratum,
        )

    def _arm(self, line: int, arm: str) -> str | None:
        """The row's arm, by the protocol's `study.arms`: none without arms, none given with
        `assign: balanced` (eas assigns), one of the names with `assign: csv`."""
        if self.arms is None:
            if arm:
                self.error(line, "arm", "this study has no arms (its protocol has no study.arms)")
            return None
        names = self.arms["names"]
        if self.arms["assign"] == "balanced":
            if arm:
                self.error(
                    line,
                    "arm",
                    "eas assigns arms in this study (study.arms.assign: balanced): leave arm "
                    "empty, or take the column out",
                )
            return None
        if not arm:
            self.error(
                line, "arm", f"is empty; this study's arms come from the CSV ({', '.join(names)})"
            )
        elif arm not in names:
            self.error(line, "arm", f"'{arm}' is not an arm of this study ({', '.join(names)})")
        return arm or None

    def _stratum(self, line: int, values: dict[str, str]) -> str | None:
        column = self.stratum_column
        stratum = values.get(column, "")
        if not stratum:
            self.error(
                line,
                column,
                f"is empty; arms are balanced within {column} (study.arms.stratify_by)",
            )
        elif len(stratum) > _LABEL_MAX:
            self.error(line, column, f"is longer than {_LABEL_MAX} characters")
        return stratum or None

    def _phone(self, line: int, text: str) -> str:
        if not text:
            self.error(line, "phone", "is empty")
            return ""
        try:
            number = phonenumbers.parse(text, self.phone_region)
        except phonenumbers.NumberParseException as exc:
            self.error(line, "phone", f"'{text}' is not a phone number ({exc._msg})")
            return ""
        if not phonenumbers.is_valid_number(number):
            # The region hint only where it applies: a number written without its + code.
            hint = (
                ""
                if text.lstrip().startswith("+")
                else f" (numbers without a + are read as {self.phone_region} numbers)"
            )
            self.error(line, "phone", f"'{text}' is not a valid phone number{hint}")
            return ""
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _time(self, line: int, column: str, text: str) -> time | None:
        try:
            return parse_hhmm(text)
        except ValueError:
            self.error(line, column, f"'{text}' is not a time of day (HH:MM)")
            return None

    def _known_arm(self, values: dict[str, str]) -> str | None:
        """The row's arm when the CSV gives it (and it is one): only its schedules need to fit
        the row's waking day. Balanced arms are drawn later: any may be theirs."""
        arm = values.get("arm", "")
        given = self.arms is not None and self.arms["assign"] == "csv"
        return arm if given and arm in self.arms["names"] else None

    def _check_window(
        self,
        line: int,
        zone: str,
        wake: time,
        sleep: time,
        weekend_wake: time | None,
        weekend_sleep: time | None,
        *,
        arm: str | None = None,
    ) -> None:
        overlap = window_overlap_problem(wake, sleep, weekend_wake, weekend_sleep)
        if overlap:
            self.error(line, "sleep", overlap)
        for schedule, kept_clear in self.random_schedules:
            if arm is not None and arm not in schedule.get("arms", [arm]):
                continue  # another arm's
            problem = random_fit_problem(
                schedule,
                wake,
                sleep,
                weekend_wake,
                weekend_sleep,
                zone=zone,
                kept_clear=kept_clear if channel_of(schedule, self.defaults) == "sms" else (),
            )
            if problem:
                self.error(line, "sleep", f"schedule '{schedule['id']}': {problem}")
        for schedule in self.interval_schedules:
            if arm is not None and arm not in schedule.get("arms", [arm]):
                continue
            weekend = (weekend_wake, weekend_sleep)
            for _, problem, _ in interval_time_left((), schedule, wake, sleep, weekend):
                self.error(line, "sleep", f"schedule '{schedule['id']}': {problem}")


def _delimiter(text: str) -> str:
    """`;` when the header is written with it (Excel in locales whose decimal mark is a comma),
    else `,`: told from the header line alone, where no value can hold either."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def parse_participants_csv(text: str, definition: dict[str, Any], phone_region: str) -> ParsedCsv:
    """Parse every row; return the good rows and every problem with the others.

    A header that cannot be read raises `CsvInvalid` at once: no row can be checked then.
    """
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    # Any case and spaces around: "Label", " Phone " (spreadsheets write headers so).
    header = [name.strip().lower() for name in reader.fieldnames or []]
    reader.fieldnames = header
    # Arms: `arm` is required where the CSV gives them, the stratification column where eas
    # balances them within its values (a column of the study's own, accepted then).
    arms = definition["study"].get("arms")
    required = REQUIRED_COLUMNS + (("arm",) if arms and arms["assign"] == "csv" else ())
    column = stratum_column(definition)
    if column:
        required = tuple(dict.fromkeys((*required, column)))
    known = tuple(dict.fromkeys(REQUIRED_COLUMNS + OPTIONAL_COLUMNS + required))
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in known]
    header_errors = []
    if not header:
        header_errors.append(RowError(1, None, "the file is empty; expected a header row"))
    if missing and header:
        why = []
        if "arm" in missing:
            why.append("this study's arms come from the CSV (study.arms.assign: csv)")
        if column in missing:
            why.append(f"arms are balanced within {column} (study.arms.stratify_by)")
        because = f": {'; '.join(why)}" if why else ""
        header_errors.append(RowError(1, None, f"missing column(s): {', '.join(missing)}{because}"))
    if unknown:
        expected = ", ".join(known)
        header_errors.append(
            RowError(1, None, f"unknown column(s): {', '.join(unknown)} (expected: {expected})")
        )
    if header_errors:
        raise CsvInvalid(header_errors)

    parser = _RowParser(definition, phone_region)
    rows: list[ParticipantRow] = []
    line = 1
    for raw in reader:
        line = reader.line_num
        if None in raw:
            parser.error(
                line,
                None,
                f"has {len(header) + len(raw[None])} fields; the header has {len(header)}",
            )
            continue
        if not any((value or "").strip() for value in raw.values()):
            continue  # blank line
        row = parser.parse(line, raw)
        if row is not None:
            rows.append(row)
    if not rows and not parser.errors:
        raise CsvInvalid([RowError(1, None, "the file has a header but no participants")])
    return ParsedCsv(rows, parser.errors)
