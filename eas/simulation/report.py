"""The pilot report: what a simulated study asks of participants and costs, read back from the
export package it wrote. `build_report` streams each CSV once (memory grows with participants x
days, not with prompts); `write_report` writes `report.json` and a self-contained `report.html`
(inline SVG, no scripts, no external resources). No clock, locale or machine enters either: the
same simulation gives the same bytes."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from eas.export.derived import count_outcome, rates
from eas.export.tables import PROMPT_STATUSES
from eas.simulation import charts

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = range(24)
#: Published figures the report sets the simulated protocol against.
NORMS = {
    "prompts_per_day": 5,
    "items_per_prompt": 10,
    "compliance_low": 0.75,
    "compliance_high": 0.9,
    "sources": [
        "Williams MT, Lewthwaite H, Fraysse F, et al. Compliance with mobile ecological momentary "
        "assessment of self-reported health-related behaviors and psychological constructs in "
        "adults: systematic review and meta-analysis. J Med Internet Res 2021;23(3):e17023. "
        "doi:10.2196/17023",
        "Ono M, Schneider S, Junghaenel DU, Stone AA. What affects the completion of ecological "
        "momentary assessments in chronic pain research? An individual patient data "
        "meta-analysis. J Med Internet Res 2019;21(2):e11398. doi:10.2196/11398",
    ],
}
LOW_COMPLIANCE = 0.5
_TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"


def _rows(folder: Path, name: str) -> Iterator[dict[str, str | None]]:
    """The rows of `name`.csv, one at a time; an empty cell is None."""
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            yield {key: (value if value != "" else None) for key, value in row.items()}


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


def quantile(ordered: list[float], share: float) -> float:
    """Linear interpolation between order statistics (R's type 7, numpy's default)."""
    position = (len(ordered) - 1) * share
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def rounded(value: Any) -> Any:
    """Every float rounded to 4 decimals, recursively."""
    if isinstance(value, float):
        return round(value, 4) + 0.0  # + 0.0: no "-0.0"
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value


def _distribution(values: list[float], total: int) -> dict[str, Any]:
    ordered = sorted(values)
    bins = [0] * 10
    for value in ordered:
        bins[min(math.floor(round(value * 10, 9)), 9)] += 1
    found: dict[str, Any] = {
        "participants": total,
        "with_sendable_prompts": len(ordered),
        "below_half": sum(value < LOW_COMPLIANCE for value in ordered),
        "values": ordered,
        "bins": [
            {"from": tenth / 10, "to": (tenth + 1) / 10, "participants": count}
            for tenth, count in enumerate(bins)
        ],
    }
    for name, share in (("min", 0), ("q1", 0.25), ("median", 0.5), ("q3", 0.75), ("max", 1)):
        found[name] = quantile(ordered, share) if ordered else None
    return found


def _per_day(cells: dict, grid: int) -> dict[str, Any]:
    return {"mean": _mean(sum(cells.values()), grid), "max": max(cells.values(), default=0)}


def build_report(export_folder: Path, facts: dict) -> dict:
    """The pilot report's numbers, from the export package's CSV files and `facts` (a dict the
    simulator passes: {"protocol": str, "participants": int, "days": int, "seed": int,
    "start": "YYYY-MM-DD", "timezones": [...], "sms_segments_sent": int,
    "sms_segments_received": int, "price_per_segment": float, "seconds_per_item": float,
    "alerts_fired": {alert_id: count}, "opted_out": int, "withdrawn": int,
    "malformed_replies": int}). Returns a JSON-serialisable dict.

    Per participant per day means are over every participant of participants.csv and every
    study day from 1 to `facts["days"]` (or the last study day with a prompt, if later), days
    without prompts counting as 0. Prompts without a beep (replaced by a re-plan) count in
    the status tables only."""
    folder = Path(export_folder)
    participants: set[str] = set()
    participant_status: Counter[str] = Counter()
    compliance_values: list[float] = []
    for row in _rows(folder, "participants"):
        participants.add(row["participant"])
        participant_status[row["status"] or ""] += 1
        if row["compliance"] is not None:
            compliance_values.append(float(row["compliance"]))

    statuses = Counter(dict.fromkeys(PROMPT_STATUSES, 0))
    reasons: Counter[str] = Counter()
    planned: dict[tuple, int] = defaultdict(int)  # (participant, day[, schedule]) -> prompts
    sent: dict[tuple, int] = defaultdict(int)
    by_hour = {hour: [0, 0, 0] for hour in HOURS}
    by_weekday = {day: [0, 0, 0] for day in WEEKDAYS}
    by_schedule: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    overall = [0, 0, 0]
    timing: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    last_day = int(facts["days"])
    completed_items = 0
    for row in _rows(folder, "prompts"):
        statuses[row["status"]] += 1
        if row["status_reason"] is not None:
            reasons[row["status_reason"]] += 1
        if row["beep"] is None:
            continue
        person, day, schedule = row["participant"], int(row["study_day"]), row["schedule"] or ""
        participants.add(person)
        last_day = max(last_day, day)
        planned[(person, day)] += 1
        planned[(person, day, schedule)] += 1
        if row["sent_utc"] is not None:
            sent[(person, day)] += 1
            sent[(person, day, schedule)] += 1
        hour = int(row["local_hour"])
        for counts in (overall, by_hour[hour], by_schedule[schedule]):
            count_outcome(counts, row["status"])
        if row["weekday"] in by_weekday:
            count_outcome(by_weekday[row["weekday"]], row["status"])
        timing[schedule][hour] += 1
        if row["status"] == "completed":
            completed_items += int(row["items_answered"] or 0)

    items: dict[tuple, int] = defaultdict(int)
    for row in _rows(folder, "responses"):
        if row["missing"] is None:
            items[(row["participant"], int(row["study_day"]))] += 1

    by_day = {day: [0, 0, 0] for day in range(1, last_day + 1)}
    for row in _rows(folder, "compliance_days"):
        counts = by_day.setdefault(int(row["study_day"]), [0, 0, 0])
        for index, column in enumerate(("planned", "sendable", "completed")):
            counts[index] += int(row[column] or 0)

    people = len(participants) or int(facts["participants"])
    grid = people * last_day
    schedules = sorted(timing)
    seconds = float(facts["seconds_per_item"])
    minutes = {key: count * seconds / 60 for key, count in items.items()}
    segments_sent = int(facts["sms_segments_sent"])
    segments_received = int(facts["sms_segments_received"])
    segments = segments_sent + segments_received
    price = float(facts["price_per_segment"])

    def cells(counts: dict[tuple, int], schedule: str | None = None) -> dict[tuple, int]:
        if schedule is None:
            return {key: value for key, value in counts.items() if len(key) == 2}
        return {key: value for key, value in counts.items() if key[2:] == (schedule,)}

    report = {
        "study": {
            "protocol": facts["protocol"],
            "participants": int(facts["participants"]),
            "participants_exported": len(participants),
            "days": int(facts["days"]),
            "study_days_reported": last_day,
            "participant_days": grid,
            "seed": facts["seed"],
            "start": facts["start"],
            "timezones": sorted(facts["timezones"]),
            "synthetic": True,
        },
        "prompts_per_day": {
            "planned": _per_day(cells(planned), grid),
            "sent": _per_day(cells(sent), grid),
            "planned_total": sum(cells(planned).values()),
            "sent_total": sum(cells(sent).values()),
            "by_schedule": {
                schedule: {
                    "planned_mean": _mean(sum(cells(planned, schedule).values()), grid),
                    "sent_mean": _mean(sum(cells(sent, schedule).values()), grid),
                }
                for schedule in schedules
            },
        },
        "burden": {
            "seconds_per_item": seconds,
            "items_answered_total": sum(items.values()),
            "items_per_day": _per_day(items, grid),
            "minutes_per_day": _per_day(minutes, grid),
            "items_per_completed_prompt": _mean(completed_items, overall[2]),
        },
        "sms": {
            "segments_sent": segments_sent,
            "segments_received": segments_received,
            "segments_total": segments,
            "segments_per_participant_per_day": _mean(segments, grid),
            "price_per_segment": price,
            "cost_total": segments * price,
            "cost_per_participant": _mean(segments * price, people),
            "cost_per_participant_per_day": _mean(segments * price, grid),
        },
        "compliance": {
            "overall": rates(*overall),
            "by_day": [{"study_day": day, **rates(*c)} for day, c in sorted(by_day.items())],
            "by_hour": [{"local_hour": hour, **rates(*by_hour[hour])} for hour in HOURS],
            "by_weekday": [{"weekday": day, **rates(*by_weekday[day])} for day in WEEKDAYS],
            "by_schedule": {schedule: rates(*by_schedule[schedule]) for schedule in schedules},
            "participants": _distribution(compliance_values, len(participants)),
        },
        "timing": {
            "by_schedule": {schedule: timing[schedule] for schedule in schedules},
            "all": [sum(timing[s][hour] for s in schedules) for hour in HOURS],
        },
        "statuses": {
            "status": dict(sorted(statuses.items())),
            "status_reason": dict(sorted(reasons.items())),
            "participant_status": dict(sorted(participant_status.items())),
        },
        "events": {
            "alerts_fired": {str(k): int(v) for k, v in sorted(facts["alerts_fired"].items())},
            "opted_out": int(facts["opted_out"]),
            "withdrawn": int(facts["withdrawn"]),
            "malformed_replies": int(facts["malformed_replies"]),
        },
        "norms": NORMS,
    }
    return rounded(report)


# HTML ------------------------------------------------------------------------------------


def _view(report: dict[str, Any]) -> dict[str, Any]:
    """What the template shows: formatted strings, table rows and SVG charts."""
    norms, compliance, per_day = report["norms"], report["compliance"], report["prompts_per_day"]
    band = (norms["compliance_low"], norms["compliance_high"], "typical in real studies")
    shaded = (
        f"Shaded: {charts.percent(band[0])}{charts.DASH}{charts.percent(band[1])}, typical in "
        "published studies."
    )
    days = compliance["by_day"]
    worst_day = min(
        (d for d in days if d["compliance"] is not None),
        key=lambda d: (d["compliance"], d["study_day"]),
        default=None,
    )
    day_summary = "No prompts could be answered."
    if worst_day is not None:
        day_summary = (
            f"Overall {charts.percent(compliance['overall']['compliance'], 1)}; lowest on day "
            f"{worst_day['study_day']} ({charts.percent(worst_day['compliance'], 1)}). {shaded}"
        )
    hours = [h for h in compliance["by_hour"] if h["planned"]]
    # At least 8:00 to 22:59, a waking day, and every hour with prompts.
    busy_hours = [h["local_hour"] for h in hours] or [8]
    shown_hours = range(min(busy_hours[0], 8), max(busy_hours[-1], 22) + 1)
    hour_entries = [compliance["by_hour"][hour] for hour in shown_hours]
    distribution = compliance["participants"]
    quartiles = None
    if distribution["values"]:
        quartiles = tuple(distribution[k] for k in ("min", "q1", "median", "q3", "max"))
    timing = []
    for schedule, counts in report["timing"]["by_schedule"].items():
        busy = [hour for hour in HOURS if counts[hour]]
        timing.append(
            {
                "schedule": schedule,
                "chart": charts.bar_chart(
                    title=f"Prompt times of schedule {schedule} by local hour",
                    description=(
                        f"{sum(counts)} planned prompts, scheduled between "
                        f"{busy[0] if busy else 0}:00 and {busy[-1] if busy else 0}:59 local "
                        "time; the counts per hour are in the table below."
                    ),
                    labels=[str(hour) for hour in HOURS],
                    values=counts,
                    x_label="Local hour of the scheduled time",
                    y_label="Prompts",
                    as_percent=False,
                ),
                "rows": [[f"{hour}:00{charts.DASH}{hour}:59", str(counts[hour])] for hour in busy],
            }
        )
    return {
        "day_chart": charts.bar_chart(
            title="Compliance by study day",
            description=day_summary,
            labels=[str(d["study_day"]) for d in days],
            values=[d["compliance"] for d in days],
            x_label="Study day",
            y_label="Compliance",
            as_percent=True,
            band=band,
        ),
        "day_rows": charts.rate_rows([str(d["study_day"]) for d in days], days),
        "hour_chart": charts.bar_chart(
            title="Compliance by local hour of the scheduled time",
            description=(
                f"Hours {shown_hours[0]} to {shown_hours[-1]}; hours without prompts have no "
                f"bar. {shaded}"
            ),
            labels=[str(h["local_hour"]) for h in hour_entries],
            values=[h["compliance"] for h in hour_entries],
            x_label="Local hour",
            y_label="Compliance",
            as_percent=True,
            band=band,
        ),
        "prompt_rows": [
            [name, charts.number(planned, 2), charts.number(sent, 2)]
            for name, planned, sent in [
                ("All schedules", per_day["planned"]["mean"], per_day["sent"]["mean"]),
                *(
                    (s, c["planned_mean"], c["sent_mean"])
                    for s, c in per_day["by_schedule"].items()
                ),
            ]
        ],
        "hour_rows": charts.rate_rows([f"{h['local_hour']}:00" for h in hours], hours),
        "weekday_rows": charts.rate_rows(
            [d["weekday"] for d in compliance["by_weekday"]], compliance["by_weekday"]
        ),
        "schedule_rows": charts.rate_rows(
            list(compliance["by_schedule"]), list(compliance["by_schedule"].values())
        ),
        "strip_chart": charts.strip_box(
            title="Compliance of each participant",
            description=(
                f"{distribution['with_sendable_prompts']} participants: minimum "
                f"{charts.percent(distribution['min'])}, median "
                f"{charts.percent(distribution['median'])}, maximum "
                f"{charts.percent(distribution['max'])}; {distribution['below_half']} below 50% "
                "(dashed line). Box: quartiles; dots: participants."
            ),
            values=distribution["values"],
            quartiles=quartiles,
            band=band,
            threshold=LOW_COMPLIANCE,
        ),
        "bin_rows": [
            [
                f"{charts.percent(b['from'])}{charts.DASH}{charts.percent(b['to'])}",
                str(b["participants"]),
            ]
            for b in distribution["bins"]
        ],
        "timing": timing,
        "status_rows": [
            [status, str(count), PROMPT_STATUSES.get(status, "")]
            for status, count in report["statuses"]["status"].items()
        ],
    }


def render_html(report: dict[str, Any]) -> str:
    environment = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(number=charts.number, money=charts.money, percent=charts.percent)
    template = environment.get_template("pilot_report.html")
    return template.render(report=report, view=_view(report))


def write_report(folder: Path, report: dict) -> tuple[Path, Path]:
    """Writes report.json (sorted keys, indent 2, trailing newline) and report.html; returns
    both paths. The HTML is rendered from the JSON as written, so both show the same numbers
    whatever order the dict's keys came in."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(text + "\n", encoding="utf-8", newline="\n")
    html_path.write_text(render_html(json.loads(text)), encoding="utf-8", newline="\n")
    return json_path, html_path
