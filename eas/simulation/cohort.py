"""Synthetic participants: who they are, how reliably and how fast they answer, and what.

Each person has their own random stream (from the seed and their label), so what one person
does never depends on the order in which the simulator meets the others. Answers have
person-level random effects (an intercept per item) plus moment-to-moment noise, so the data
have realistic within- and between-person structure.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eas.protocols.expressions import parse
from eas.responses.replies import COMPACT_TYPES
from eas.scheduling.planner import derive_seed

_NOTES = [
    "Quiet day at home.",
    "Long call with my sister.",
    "Worked late, chatted with the AI before bed.",
    "Went for a walk with a friend.",
    "Felt a bit flat today.",
    "Dinner with colleagues, nice evening.",
]
_MALFORMED = ["idk", "?", "later", "hmm not sure", "ok"]


@dataclass
class Person:
    label: str
    phone: str
    timezone: str
    wake: str
    sleep: str
    #: Chance of answering a prompt on day 1, and how it fades over the study.
    compliance: float
    decline_per_day: float
    #: Mean minutes before reacting to a prompt.
    latency_minutes: float
    #: Chance that an SMS reply to an item cannot be read.
    malformed: float
    #: Answers several items in one text where the questionnaire allows it.
    compact: bool
    #: Participant-initiated reports a day, on average.
    reports_per_day: float
    stop_day: int | None = None
    withdraw_day: int | None = None
    #: Partners (`--group-size`) share a group: the planner gives them the same random times.
    group: str | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)
    intercepts: dict[str, float] = field(default_factory=dict, repr=False)

    def answers_today(self, study_day: int) -> float:
        return max(0.05, self.compliance * (1 - self.decline_per_day) ** (study_day - 1))

    def latency_seconds(self) -> float:
        return min(40 * 60, self.rng.expovariate(1 / (self.latency_minutes * 60)) + 20)

    def intercept(self, item_id: str) -> float:
        if item_id not in self.intercepts:
            self.intercepts[item_id] = self.rng.gauss(0, 1)
        return self.intercepts[item_id]


def make_cohort(
    seed: int,
    count: int,
    zones: list[str],
    days: int,
    *,
    label_prefix: str = "S",
    phone_prefix: str = "+1202555",
    group_size: int = 1,
) -> list[Person]:
    """`count` people labelled S001, S002... (`label_prefix`), with the fictional numbers
    +1 202 555 0001... (`phone_prefix`), spread over `zones` in turn; with `group_size` 2 or
    more, consecutive people form groups (couples, families) living in one zone."""
    people = []
    for number in range(1, count + 1):
        group_number = (number - 1) // group_size
        label = f"{label_prefix}{number:03d}"
        rng = random.Random(derive_seed(seed, "person", label))
        wake_hour = rng.choice([7, 8, 8, 9, 9, 10])
        sleep_hour = rng.choice([21, 22, 22, 23, 23])
        people.append(
            Person(
                label=label,
                phone=f"{phone_prefix}{number:04d}",
                timezone=zones[group_number % len(zones)],
                wake=f"{wake_hour:02d}:{rng.choice([0, 30]):02d}",
                sleep=f"{sleep_hour:02d}:{rng.choice([0, 30]):02d}",
                compliance=min(0.99, max(0.3, rng.betavariate(8, 1.8))),
                decline_per_day=rng.uniform(0, 0.02),
                latency_minutes=rng.uniform(2, 15),
                malformed=rng.choice([0.0, 0.01, 0.02, 0.05]),
                compact=rng.random() < 0.6,
                reports_per_day=rng.choice([0, 0, 0.2, 0.5, 1.0]),
                rng=rng,
                group=f"G{group_number + 1:03d}" if group_size > 1 else None,
            )
        )
    chooser = random.Random(derive_seed(seed, "cohort"))
    if count >= 4 and days >= 3:
        stopper, leaver = chooser.sample(people, 2)
        stopper.stop_day = chooser.randint(2, days)
        leaver.withdraw_day = chooser.randint(2, days)
    return people


#: Texts a person answering item by item sends for each one a person answering in compact replies
#: sends, where the protocol allows them (protocols/ai-connection.yaml, 200 people, 14 days:
#: 1,088 messages against 283 each).
ITEM_BY_ITEM_WEIGHT = 4


def expected_texts(people: list[Person], definition: dict[str, Any]) -> list[int]:
    """Each person's texts relative to the others' under this protocol (compact repliers send
    about a quarter of what others do, where the protocol allows compact replies)."""
    compact = any(q.get("compact_replies") for q in definition["questionnaires"])
    return [1 if compact and p.compact else ITEM_BY_ITEM_WEIGHT for p in people]


def enrolment_csv(people: list[Person], start: date, definition: dict[str, Any]) -> str:
    """The participants CSV a coordinator would upload for `people`: with their groups, and
    their arms when the protocol has the CSV give them (in turn)."""
    arms = definition["study"].get("arms")
    by_csv = arms["names"] if arms and arms["assign"] == "csv" else None
    header = "label,phone,timezone,wake,sleep,start_date,group" + (",arm" if by_csv else "")
    rows = []
    units: dict[str, int] = {}  # a group is randomised as one: its members share an arm
    for p in people:
        row = f"{p.label},{p.phone},{p.timezone},{p.wake},{p.sleep},{start.isoformat()}"
        row += f",{p.group or ''}"
        if by_csv:
            unit = units.setdefault(p.group or p.label, len(units))
            row += f",{by_csv[unit % len(by_csv)]}"
        rows.append(row)
    return "\n".join([header, *rows]) + "\n"


def split_cohort(people: list[Person], size: int, definition: dict[str, Any]) -> list[list[Person]]:
    """`people` in ceil(len / `size`) runs of consecutive people, cut where each run has about
    the same `expected_texts`. Runs are simulated side by side, so the longest sets the pace;
    the cuts follow from the cohort and the protocol only, never from the machine."""
    count = math.ceil(len(people) / size)
    if count <= 1:
        return [people]
    running = list(itertools.accumulate(expected_texts(people, definition)))
    cuts = [0]
    for number in range(1, count):
        # After the first person whose running total reaches this share (compared in integers,
        # exactly); every run keeps at least one person.
        share = running[-1] * number
        cut = bisect.bisect_left(running, share, key=lambda total: total * count) + 1
        cut = min(max(cut, cuts[-1] + 1), len(people) - (count - number))
        # Partners are planned together: a group is never cut across runs.
        while (
            0 < cut < len(people)
            and people[cut].group
            and (people[cut].group == people[cut - 1].group)
        ):
            cut += 1
        if cut < len(people):
            cuts.append(cut)
    cuts.append(len(people))
    return [people[first:last] for first, last in itertools.pairwise(cuts)]


@dataclass(frozen=True)
class Given:
    """One answer: how it is sent (SMS text, web form value) and what it means."""

    sms: str
    web: list[str]
    value: Any  # as branching expressions see it (None: skipped)


def answer(person: Person, item: dict[str, Any]) -> Given:
    rng, kind, shift = person.rng, item["type"], person.intercept(item["id"])
    if rng.random() < 0.02:
        return Given("skip", [], None)
    if kind == "yes_no":
        yes = rng.random() < 1 / (1 + math.exp(-(shift + rng.gauss(0, 0.8))))
        text = rng.choice(["y", "yes", "Yes"] if yes else ["n", "no", "No"])
        return Given(text, ["yes" if yes else "no"], yes)
    if kind in ("scale", "slider"):
        low, high = item["min"], item["max"]
        # Centred a little below the middle, as momentary ratings of mood and distress are:
        # extreme answers (and so safety alerts) stay the exception they are in real studies.
        middle, spread = low + (high - low) * 0.4, (high - low) / 5
        value = round(min(high, max(low, middle + shift * spread + rng.gauss(0, spread / 1.5))))
        return Given(str(value), [str(value)], value)
    if kind == "choice":
        weights = [math.exp(shift * (index - 1)) for index in range(len(item["options"]))]
        index = rng.choices(range(len(item["options"])), weights)[0]
        value = item["options"][index]["value"]
        return Given(str(index + 1), [str(value)], value)
    if kind == "multi_choice":
        chosen = [i for i in range(len(item["options"])) if rng.random() < 0.3]
        chosen = chosen[: item.get("max_choices", len(chosen))] or [
            rng.randrange(len(item["options"]))
        ]
        values = [item["options"][i]["value"] for i in chosen]
        return Given(" ".join(str(i + 1) for i in chosen), [str(v) for v in values], values)
    if kind == "number":
        high = item.get("max", 1000)
        value = 0 if rng.random() < 0.3 else min(high, int(rng.lognormvariate(3 + shift / 2, 0.8)))
        return Given(str(value), [str(value)], value)
    note = rng.choice(_NOTES)
    return Given(note, [note], note)


def malformed(person: Person) -> str:
    return person.rng.choice(_MALFORMED)


def plan_compact(person: Person, items: list[dict], start: int, values: dict) -> list[Given]:
    """Answers for the items from `start` on, following branching, while they are one-word
    types: what a person who knows the format texts at once."""
    given = []
    for item in items[start:]:
        if item.get("show_if") and not parse(item["show_if"]).evaluate(values):
            continue
        if item["type"] not in COMPACT_TYPES:
            break
        one = answer(person, item)
        given.append(one)
        if one.value is not None:
            values[item["id"]] = one.value
    return given
