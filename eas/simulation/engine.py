"""The simulation loop: the real app, planner, dispatcher, simulator channel, SMS conversation
and web pages, driven in virtual time by synthetic participants.

Time jumps from one event to the next: a prompt or reminder falling due (a dispatcher tick, at
most one a minute, so prompts go out within the minute, as with a dispatcher ticking every
minute), or a participant acting (a text, a page of a web questionnaire). Participants answer
through the same doors as people: texts through the phone simulator's reply endpoint (the code
Twilio's webhook reaches), web prompts through their links, page by page, with the CSRF token
of the page they were shown. And they know what people know: what their phone received and what
they did themselves (`checkins`), never what the server holds. One exception: where a
questionnaire's branching depends on the prompt's place in the day (its beep, `show_if: last_beep`),
a person knows it as the server counts it (`responses.context`): a real participant cannot
always tell (a cancelled prompt counts), but what they are asked follows it; and where it
shuffles items, they know the order their texts follow (`presenting`).
"""

from __future__ import annotations

import heapq
import itertools
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
from eas.simulation import checkins
from eas.simulation.browsing import WebPages
from eas.simulation.checkins import CheckIn, Phone, Prompted, Texts
from eas.simulation.cohort import (
    Given,
    Person,
    answer,
    enrolment_csv,
    malformed,
    plan_compact,
)
from eas.simulation.presenting import learn_prompt
from eas.simulation.reporting import report_moments, report_schedules
from eas.simulation.truth import Truth
from eas.sms.phone import text_from_phone
from eas.studies.operations import publish_protocol

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
        #: (person, check-in) while a person's reply in a check-in awaits the server's answer.
        self.answering: tuple[Person, CheckIn] | None = None
        #: The person who just texted a report's keyword.
        self.reporting: Person | None = None
        #: Whether the dispatcher's next piece of work may have changed since it was looked up:
        #: ticks, reports, STOP, withdrawals, and a first answer (no reminder after it).
        self.plan_changed = True
        self.ids: dict[str, int] = {}
        #: Whether each person answers each check-in, as they decided it.
        self.decided: dict[CheckIn, bool] = {}
        self.definition = protocol.definition
        self.questionnaires = {q["id"]: q for q in self.definition["questionnaires"]}
        #: What each person's phone received and what they made of it.
        self.phones = {person.label: Phone() for person in people}
        self.texts = Texts(self.definition)

    # set-up ------------------------------------------------------------------------------

    def enroll(self) -> None:
        from eas.participants.operations import import_participants

        study = publish_protocol(self.protocol, actor="simulation").study
        csv = enrolment_csv(self.people, self.start, self.definition)
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
        #: The report each person can start (of their arm), if the protocol has one.
        self.report_schedules = report_schedules(self.definition, study.id)
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
            reports = self._poisson(person, person.reports_per_day)
            schedule = self.report_schedules.get(person.label)
            if schedule is not None and reports:
                for moment in report_moments(
                    schedule,
                    self.definition,
                    day=day,
                    start=self.start,
                    zone=person.timezone,
                    waking=(time(wake_h, wake_m), time(sleep_h, sleep_m)),
                    count=reports,
                    rng=person.rng,
                ):
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
        reporting, self.reporting = self.reporting, None
        if self.phones_rang:  # the dispatcher sends without telling: look
            self.phones_rang = False
            rows += core_execute(_RECEIVED, {"seen": self.seen_message}).all()
        if not rows:
            return
        answered = asked = False
        for message_id, participant_id, body in rows:
            self.seen_message = max(self.seen_message, message_id)
            person = self.by_id[participant_id]
            within = self.answering[1] if self.answering and self.answering[0] is person else None
            asks = self._on_text(person, body, within, report=person is reporting)
            if within is not None:
                answered, asked = True, asked or asks
        if answered and not asked:
            # eas answered their last text in a check-in without a question: it is over.
            self.answering[1].done = True
        self.answering = None

    def _on_text(
        self, person: Person, body: str, within: CheckIn | None, *, report: bool = False
    ) -> bool:
        """What `person` makes of a text (`within`: eas's answer to their text in that
        check-in; `report`: to the keyword of a report they just texted); whether it asks
        something."""
        link = checkins.LINK.search(body)
        if link:
            self._on_link(person, body, link.group(1))
            return False
        position = checkins.question(body)
        if position is None and not body.startswith("Sorry"):
            return False  # thanks, notes, alert replies: nothing to answer
        now = self.clock.now()
        phone = self.phones[person.label]
        opens = self.texts.opening(body) if within is None else None
        if opens is not None:
            self._new_check_in(person, phone, opens, now, report=report)
        if within is not None:
            # The next question of the check-in the person is answering (or the same one
            # again): they answer it.
            within.reasked = checkins.is_reask(body)
            if position is not None:
                within.asking = position
            delay = person.rng.uniform(15, 90)
            self._at(now + timedelta(seconds=delay), self._reply, person, within)
            return True
        current = phone.sms
        if current is None or not current.is_open(now):
            return True
        if not current.started and not self._decide(person, current):
            return True
        delay = person.rng.uniform(15, 90) if current.started else person.latency_seconds()
        self._at(now + timedelta(seconds=delay), self._reply, person, current)
        return True

    def _new_check_in(
        self, person: Person, phone: Phone, questionnaire: str, now: datetime, *, report: bool
    ) -> None:
        """An SMS questionnaire's first text: a prompt, or the answer to a report's keyword."""
        phone.sms = CheckIn(
            Prompted(person.label, questionnaire, now),
            self._study_day(person, now),
            self.texts.expires(questionnaire, now, report=report),
        )
        # Its place in the day and item order, as the server has them (see the docstring).
        learn_prompt(
            phone.sms, self.questionnaires[questionnaire], self.ids[person.label], self.definition
        )
        if report:
            self.decided[phone.sms] = True  # they asked for it

    def _study_day(self, person: Person, now: datetime) -> int:
        return checkins.study_day(now, person.timezone, self.start, person.wake, person.sleep)

    def _decide(self, person: Person, check_in: CheckIn) -> bool:
        """Whether this person answers this prompt (asked once; a reminder is a second chance)."""
        decided = self.decided.get(check_in)
        if decided is not None and (decided or person.rng.random() >= 0.3):
            return decided
        chance = person.answers_today(check_in.study_day)
        decided = self.decided[check_in] = person.rng.random() < chance
        if not decided:
            self.truth.ignored_prompts.add(check_in.prompted)
        else:
            self.truth.ignored_prompts.discard(check_in.prompted)
        return decided

    # what people do ---------------------------------------------------------------------------

    def _text(self, person: Person, body: str) -> None:
        """A text from the person's phone, through the phone simulator's sending code (the
        code Twilio's webhook reaches, without the page around it), committed as a request
        is; eas's answers land on the phone, and the person reads them next (`_react`)."""
        begin_write()
        self.inbox += text_from_phone(self.ids[person.label], person.phone, body, self.clock.now())
        db.session.commit()
        db.session.close()
        self.truth.texts_sent += 1

    def _reply(self, person: Person, check_in: CheckIn) -> None:
        """The person answers the question on their phone, if the check-in is still the latest
        and open, and they have not left (STOP) meanwhile."""
        now = self.clock.now()
        phone = self.phones[person.label]
        if phone.left or phone.sms is not check_in or not check_in.is_open(now):
            return
        questionnaire = check_in.shown or self.questionnaires[check_in.questionnaire]
        items = questionnaire["items"]
        position, values = check_in.asking, check_in.values
        self.plan_changed |= not check_in.started
        # Whatever this text is, the server answers it within this check-in (which it starts).
        self.answering = (person, check_in)
        check_in.started, check_in.last_activity = True, now
        if not check_in.reasked and person.rng.random() < person.malformed:
            self.truth.malformed_replies += 1
            text = malformed(person)
            # Not what they meant, but it may read as an answer ("ok" to a yes or no).
            read = checkins.read_as(questionnaire, position, values, text) or {}
            values.update((item, value) for item, value in read.items() if value is not None)
            self._text(person, text)
            return
        if person.compact and questionnaire.get("compact_replies"):
            given = plan_compact(person, items, position, dict(values))
            if len(given) >= 2:
                self._remember(person, check_in, items, position, given)
                self._text(person, " ".join(one.sms for one in given))
                return
        one = answer(person, items[position])
        self._remember(person, check_in, items, position, [one])
        self._text(person, one.sms)

    def _remember(self, person, check_in: CheckIn, items, position, given: list[Given]) -> None:
        """Record the answers about to be texted, item by item as branching shows them."""
        values = check_in.values
        queue = iter(given)
        for item in items[position:]:
            if item.get("show_if") and not parse(item["show_if"]).evaluate(values):
                continue
            one = next(queue, None)
            if one is None:
                return
            self.truth.answers[(*check_in.prompted, item["id"])] = one.value
            if one.value is not None:
                values[item["id"]] = one.value

    def _report(self, person: Person) -> None:
        self.plan_changed = True
        phone = self.phones[person.label]
        if phone.left:
            return
        schedule = self.report_schedules.get(person.label)
        if schedule is None:
            return
        if phone.sms is not None and phone.sms.is_open(self.clock.now()):
            return  # busy with a check-in: report later or not at all
        self.truth.reports_started += 1
        self.reporting = person  # what eas answers opens the report (`_new_check_in`)
        self._text(person, schedule["keyword"])

    def _stop(self, person: Person) -> None:
        self.plan_changed = True
        phone = self.phones[person.label]
        if not phone.left:
            self._text(person, "STOP")
            phone.left = True
            self.truth.opted_out.append(person.label)

    def _withdraw(self, person: Person) -> None:
        """The person asks the team to withdraw them: a coordinator does, if they still take
        part."""
        self.plan_changed = True
        participant = db.session.get(Participant, self.ids[person.label])
        if participant.status is ParticipantStatus.active:
            withdraw(participant, self.clock.now(), reason="simulated", actor="coordinator")
            db.session.commit()
            self.phones[person.label].left = True
            self.truth.withdrawn.append(person.label)
        db.session.close()
