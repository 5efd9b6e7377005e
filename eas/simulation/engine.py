"""The simulation loop: the real app, planner, dispatcher, simulator channel, SMS conversation
and web pages, driven in virtual time by synthetic participants.

Time jumps from one event to the next: a prompt or reminder falling due (a dispatcher tick, at
most one a minute, so prompts go out within the minute, as with a dispatcher ticking every
minute), or a participant acting (a text, a page of a web questionnaire). Participants answer
through the same doors as people: texts through the phone simulator's reply endpoint (the code
Twilio's webhook reaches), web prompts through their links, page by page, with the CSRF token
of the page they were shown.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from eas.core.clock import VirtualClock, install_clock
from eas.core.db import begin_write, core_execute, db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import SimulatedMessage
from eas.participants.csv_import import parse_participants_csv
from eas.participants.lifecycle import withdraw
from eas.participants.models import Participant, ParticipantStatus
from eas.protocols.expressions import parse
from eas.protocols.validation import LoadedProtocol
from eas.responses.models import Response
from eas.scheduling.localtime import to_utc
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.simulation.browsing import WebPages
from eas.simulation.cohort import Given, Person, answer, malformed, plan_compact
from eas.sms.conversation import conversation_of
from eas.studies.operations import publish_protocol
from eas.web.simulator import text_from_phone

_STEP = timedelta(minutes=1)
_PROMPTS = PlannedPrompt.__table__
_PHONES = SimulatedMessage.__table__
_RESPONSES = Response.__table__
#: The dispatcher's next piece of work since it last looked: a prompt or a reminder falling due
#: (not a reminder of a prompt being answered: those are never sent).
_NEXT_DUE = sa.select(
    sa.select(sa.func.min(_PROMPTS.c.due_at))
    .where(_PROMPTS.c.status == PromptStatus.scheduled, _PROMPTS.c.due_at > sa.bindparam("after"))
    .scalar_subquery(),
    sa.select(sa.func.min(_PROMPTS.c.next_reminder_at))
    .where(
        _PROMPTS.c.next_reminder_at > sa.bindparam("after"),
        ~sa.exists().where(_RESPONSES.c.prompt_id == _PROMPTS.c.id),
    )
    .scalar_subquery(),
)
#: What the phones received since the last look.
_RECEIVED = (
    sa.select(_PHONES.c.id, _PHONES.c.participant_id, _PHONES.c.body)
    .where(_PHONES.c.id > sa.bindparam("seen"))
    .order_by(_PHONES.c.id)
)
_LINK = re.compile(r"/p/([A-Za-z0-9_-]+)")


@dataclass
class Truth:
    """What the synthetic participants did, to check the export against."""

    answers: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    ignored_prompts: set[int] = field(default_factory=set)
    opted_out: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    malformed_replies: int = 0
    texts_sent: int = 0
    reports_started: int = 0

    def absorb(self, other: Truth, prompt_id: Callable[[int], int]) -> None:
        """Add what another shard's people did; `prompt_id` maps its prompt ids to ours."""
        self.answers.update(
            {
                (label, prompt_id(prompt), item): value
                for (label, prompt, item), value in other.answers.items()
            }
        )
        self.ignored_prompts |= {prompt_id(prompt) for prompt in other.ignored_prompts}
        self.opted_out += other.opted_out
        self.withdrawn += other.withdrawn
        self.malformed_replies += other.malformed_replies
        self.texts_sent += other.texts_sent
        self.reports_started += other.reports_started


class Simulation(WebPages):
    """`people` take part from `start` (their first study day) and act on `days` days; the
    virtual clock starts at noon UTC the day before."""

    def __init__(
        self, app: Flask, protocol: LoadedProtocol, people: list[Person], *, start: date, days: int
    ) -> None:
        self.app = app
        self.protocol = protocol
        self.days = days
        self.start = start
        self.people = people
        self.clock = VirtualClock(datetime.combine(start - timedelta(days=1), time(12), UTC))
        install_clock(app, self.clock)
        self.truth = Truth()
        self.agenda: list[tuple[datetime, int, Any]] = []
        self.sequence = itertools.count()
        self.seen_message = 0
        #: Whether a dispatcher tick may have reached a phone since the last look.
        self.phones_rang = False
        #: eas's answers to the last text, as (simulator message id, participant id, body).
        self.inbox: list[tuple[int, int, str]] = []
        #: (person, prompt id) while a person's reply in a check-in awaits the server's answer.
        self.answering: tuple[Person, int] | None = None
        #: Whether the dispatcher's next piece of work may have changed since it was looked up:
        #: ticks, reports, STOP, withdrawals, and a first answer (no reminder after it).
        self.plan_changed = True
        self.ids: dict[str, int] = {}
        self.decided: dict[int, bool] = {}
        self.definition = protocol.definition
        self.questionnaires = {q["id"]: q for q in self.definition["questionnaires"]}

    # set-up ------------------------------------------------------------------------------

    def enroll(self) -> None:
        from eas.participants.operations import import_participants

        study = publish_protocol(self.protocol, actor="simulation").study
        rows = "".join(
            f"{p.label},{p.phone},{p.timezone},{p.wake},{p.sleep},{self.start.isoformat()}\n"
            for p in self.people
        )
        csv = "label,phone,timezone,wake,sleep,start_date\n" + rows
        parsed = parse_participants_csv(csv, study.current_version.definition, "US")
        import_participants(study, parsed, actor="simulation")
        db.session.commit()
        self.study_id = study.id
        self.ids = dict(
            db.session.execute(
                sa.select(Participant.label, Participant.id).where(Participant.study_id == study.id)
            ).all()
        )
        self.by_id = {self.ids[person.label]: person for person in self.people}
        for person in self.people:
            self._plan_days(person)

    def _plan_days(self, person: Person) -> None:
        wake_h, wake_m = map(int, person.wake.split(":"))
        sleep_h, sleep_m = map(int, person.sleep.split(":"))
        for study_day in range(1, self.days + 1):
            day = self.start + timedelta(days=study_day - 1)
            opens = to_utc(day, time(wake_h, wake_m), person.timezone)
            closes = to_utc(day, time(sleep_h, sleep_m), person.timezone)
            span = (closes - opens).total_seconds()
            for _ in range(self._poisson(person, person.reports_per_day)):
                moment = opens + timedelta(seconds=person.rng.uniform(0, span))
                self._at(moment, self._report, person)
            if person.stop_day == study_day:
                self._at(opens + timedelta(seconds=person.rng.uniform(0, span)), self._stop, person)
            if person.withdraw_day == study_day:
                self._at(opens + timedelta(seconds=span / 2), self._withdraw, person)

    @staticmethod
    def _poisson(person: Person, rate: float) -> int:
        count, limit, product = 0, pow(2.718281828459045, -rate), person.rng.random()
        while product > limit:
            count += 1
            product *= person.rng.random()
        return count

    def _at(self, moment: datetime, action, *args) -> None:
        heapq.heappush(self.agenda, (moment, next(self.sequence), (action, args)))

    # the loop ------------------------------------------------------------------------------

    def run(self, dispatcher: Dispatcher, end: datetime, progress=None) -> Truth:
        """Until `end`: participants act at their own moments; the dispatcher ticks whenever a
        prompt or reminder falls due, at most once a minute (as `eas run` ticks)."""
        last_tick = self.clock.now() - _STEP
        due: datetime | None = None
        while self.clock.now() < end:
            if self.plan_changed:
                due, self.plan_changed = self._next_due(last_tick), False
            # Due since the last tick, the next tick comes a minute after it (or now, when
            # answering a web page took longer): a prompt falling due while people act is
            # sent within the minute, as by a dispatcher ticking every minute.
            next_tick = min(max(due or end, last_tick + _STEP, self.clock.now()), end)
            # What the simulation itself read since the last action (what phones received,
            # what is due next), it read in one transaction: nothing wrote in between. (Each
            # action ends its session so: closed, not removed, the next one reuses it.)
            db.session.close()
            if self.agenda and self.agenda[0][0] < next_tick:
                moment, _, (action, args) = heapq.heappop(self.agenda)
                self.clock.set(max(moment, self.clock.now()))
                action(*args)
            else:
                self.clock.set(next_tick)
                dispatcher.tick()
                db.session.close()
                self.phones_rang = self.plan_changed = True
                last_tick = next_tick
            self._react()
            if progress:
                progress(self.clock.now())
        return self.truth

    def _next_due(self, last_tick: datetime) -> datetime | None:
        """When the dispatcher next has work: the first prompt or reminder due after its last
        tick (what fell due before it, it has seen)."""
        due, reminder = core_execute(_NEXT_DUE, {"after": last_tick}).one()
        return min((x for x in (due, reminder) if x), default=None)

    def _react(self) -> None:
        """Read what the phones received since last time, and decide what each person does."""
        rows, self.inbox = self.inbox, []
        if self.phones_rang:  # the dispatcher sends without telling: look
            self.phones_rang = False
            rows += core_execute(_RECEIVED, {"seen": self.seen_message}).all()
        if not rows:
            return
        for message_id, participant_id, body in rows:
            self.seen_message = max(self.seen_message, message_id)
            self._on_text(self.by_id[participant_id], body)
        self.answering = None

    def _on_text(self, person: Person, body: str) -> None:
        link = _LINK.search(body)
        if link:
            self._on_link(person, link.group(1))
            return
        item_message = re.match(r"^(?:.*\n)?(\d+)/(\d+) ", body, re.S) or body.startswith("Sorry")
        if not item_message:
            return  # thanks, notes, alert replies: nothing to answer
        if self.answering and self.answering[0] is person:
            # The next question of the check-in the person is answering (its response exists,
            # and is open: it just asked): no need to look.
            delay = person.rng.uniform(15, 90)
            self._at(self.clock.now() + timedelta(seconds=delay), self._reply, *self.answering)
            return
        current = conversation_of(self.ids[person.label])
        if current is None or not current.is_open(self.clock.now()):
            return
        started = current.response_id is not None
        if not started and not self._decide(person, current.prompt_id, current.study_day):
            return
        delay = person.rng.uniform(15, 90) if started else person.latency_seconds()
        moment = self.clock.now() + timedelta(seconds=delay)
        self._at(moment, self._reply, person, current.prompt_id)

    def _decide(self, person: Person, prompt_id: int, study_day: int) -> bool:
        """Whether this person answers this prompt (asked once; a reminder is a second chance)."""
        if prompt_id in self.decided and (self.decided[prompt_id] or person.rng.random() >= 0.3):
            return self.decided[prompt_id]
        chance = person.answers_today(study_day)
        self.decided[prompt_id] = person.rng.random() < chance
        if not self.decided[prompt_id]:
            self.truth.ignored_prompts.add(prompt_id)
        else:
            self.truth.ignored_prompts.discard(prompt_id)
        return self.decided[prompt_id]

    # what people do ---------------------------------------------------------------------------

    def _text(self, person: Person, body: str) -> None:
        """A text from the person's phone, through the phone simulator's sending code (the
        code Twilio's webhook reaches, without the page around it), committed as a request
        is; eas's answers land on the phone, and the person reads them next (`_react`). In the
        transaction the caller began, if any (`_reply` looks at the conversation first: it
        only reads, as `receive` requires)."""
        begin_write()
        self.inbox += text_from_phone(self.ids[person.label], person.phone, body, self.clock.now())
        db.session.commit()
        db.session.close()
        self.truth.texts_sent += 1

    def _reply(self, person: Person, prompt_id: int) -> None:
        # What the person sees on their phone, read in the transaction that sends the text.
        begin_write()
        current = conversation_of(self.ids[person.label])
        now = self.clock.now()
        if current is None or current.prompt_id != prompt_id or not current.is_open(now):
            db.session.close()
            return
        questionnaire = self.questionnaires[current.questionnaire_id]
        items = questionnaire["items"]
        started = current.response_id is not None
        awaited = current.current_item_id if started else items[0]["id"]
        values = current.answered_values(questionnaire)
        position = next(i for i, item in enumerate(items) if item["id"] == awaited)
        reasked = bool(current.reasked)
        self.plan_changed |= not started
        # Whatever this text is, the server answers it within this check-in (which it starts).
        self.answering = (person, prompt_id)
        if not reasked and person.rng.random() < person.malformed:
            self.truth.malformed_replies += 1
            self._text(person, malformed(person))
            return
        if person.compact and questionnaire.get("compact_replies"):
            given = plan_compact(person, items, position, dict(values))
            if len(given) >= 2:
                self._remember(person, prompt_id, items, position, given, values)
                self._text(person, " ".join(one.sms for one in given))
                return
        one = answer(person, items[position])
        self._remember(person, prompt_id, items, position, [one], values)
        self._text(person, one.sms)

    def _remember(self, person, prompt_id, items, position, given: list[Given], values) -> None:
        """Record the answers about to be texted, item by item as branching shows them."""
        values = dict(values)
        queue = iter(given)
        for item in items[position:]:
            if item.get("show_if") and not parse(item["show_if"]).evaluate(values):
                continue
            one = next(queue, None)
            if one is None:
                return
            self.truth.answers[(person.label, prompt_id, item["id"])] = one.value
            if one.value is not None:
                values[item["id"]] = one.value

    def _report(self, person: Person) -> None:
        self.plan_changed = True
        if self._status(person) is not ParticipantStatus.active:
            return
        schedule = next((s for s in self.definition["schedules"] if s["type"] == "event"), None)
        if schedule is None:
            return
        current = conversation_of(self.ids[person.label])
        db.session.close()
        if current is not None and current.is_open(self.clock.now()):
            return  # busy with a check-in: report later or not at all
        self.truth.reports_started += 1
        self._text(person, schedule["keyword"])
        latest = conversation_of(self.ids[person.label])
        if latest is not None:
            self.decided[latest.prompt_id] = True
        db.session.close()

    def _stop(self, person: Person) -> None:
        self.plan_changed = True
        if self._status(person) is ParticipantStatus.active:
            self._text(person, "STOP")
            self.truth.opted_out.append(person.label)

    def _withdraw(self, person: Person) -> None:
        self.plan_changed = True
        participant = db.session.get(Participant, self.ids[person.label])
        if participant.status is ParticipantStatus.active:
            withdraw(participant, self.clock.now(), reason="simulated", actor="coordinator")
            db.session.commit()
            self.truth.withdrawn.append(person.label)
        db.session.close()

    def _status(self, person: Person) -> ParticipantStatus:
        status = db.session.scalar(
            sa.select(Participant.status).where(Participant.id == self.ids[person.label])
        )
        db.session.close()
        return status
