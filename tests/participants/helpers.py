"""Protocols with between-person arms, and CSVs to enrol in them, shared by the arms tests
(tests/participants, tests/export, tests/api, tests/web)."""

from __future__ import annotations

#: Balanced, within sites: `boost` adds an evening check-in and a report texted BOOST,
#: `control` a noon check-in; the morning check-in and the NOTE report are everyone's.
BALANCED_BY_SITE = "{names: [control, boost], stratify_by: site, seed: 7}"
BALANCED = "{names: [control, boost], seed: 7}"
FROM_CSV = "{names: [control, boost], assign: csv}"


def arms_protocol(arms: str = BALANCED_BY_SITE, slug: str = "arms") -> str:
    return f"""\
study:
  id: {slug}
  title: Arms
  timezone: America/New_York
  duration_days: 3
  arms: {arms}
participant_defaults: {{wake: "09:00", sleep: "22:00", channel: sms}}
questionnaires:
  - id: checkin
    items:
      - {{id: mood, type: scale, min: 0, max: 10, text: Mood}}
schedules:
  - {{id: morning, questionnaire: checkin, type: fixed, times: ["10:00"]}}
  - {{id: boost_evening, questionnaire: checkin, type: fixed, times: ["20:00"], arms: [boost]}}
  - {{id: control_noon, questionnaire: checkin, type: fixed, times: ["12:00"], arms: [control]}}
  - {{id: boost_note, questionnaire: checkin, type: event, keyword: BOOST, arms: [boost]}}
  - {{id: note, questionnaire: checkin, type: event, keyword: NOTE}}
"""


def phone(n: int) -> str:
    return f"+1202555{n:04d}"


def people_csv(count: int, *, sites: tuple[str, ...] = (), first: int = 0, **columns) -> str:
    """`count` participants P000... (from `first`), starting 2026-03-19 in New York; with
    `sites`, a `site` column taking them in turn; `columns`: more columns, a value for each
    row (a list) or the same for all (a string)."""
    header = ["label", "phone", "timezone", "start_date"]
    if sites:
        header.append("site")
    header += list(columns)
    lines = [",".join(header)]
    for index in range(count):
        n = first + index
        row = [f"P{n:03d}", phone(n), "America/New_York", "2026-03-19"]
        if sites:
            row.append(sites[index % len(sites)])
        for values in columns.values():
            row.append(values if isinstance(values, str) else values[index])
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"
