"""The simulation loop: the real app, planner, dispatcher, simulator channel, SMS conversation
and web pages, driven in virtual time by synthetic participants.

Time jumps from one event to the next (a prompt or reminder falling due, a participant acting),
never faster than the dispatcher's one-minute step, so prompts go out as they would with a
dispatcher ticking every minute. Participants answer through the same doors as people: texts
through the phone simulator's reply endpoint (the code Twilio's webhook reaches), web prompts
through their links, page by page, with the CSRF token of the page they were shown.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import MultiDict

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import SimulatedMessage
from eas.participants.csv_import import parse_participants_csv
from eas.participants.lifecycle import withdraw
from eas.participants.models import Participant, ParticipantStatus
from eas.protocols.expressions import parse
from eas.protocols.validation import LoadedProtocol
from eas.responses import operations as responses
from eas.scheduling.localtime import to_utc
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.simulation.cohort import Given, Person, answer, make_cohort, malformed, plan_compact
from eas.sms.conversation import open_conversation
from eas.studies.operations import publish_protocol
from eas.web.links import resolve

_STEP = timedelta(minutes=1)
#: A questionnaire has at most one page per item; this only guards against a loop.
_MAX_PAGES = 100
_LINK = re.compile(r"/p/([A-Za-z0-9_-]+)")
_INPUT = re.compile(r'name="([a-z][a-z0-9_]*)"')
_HIDDEN = re.compile(r'name="(csrf_token|page_item)" value="([^"]*)"')


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


def _fernet_key(seed: int) -> str:
    digest = hashlib.sha256(f"eas-simulation-{seed}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def simulation_app(database: Path, seed: int) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": f"simulation-{seed}",
            "EAS_ENCRYPTION_KEYS": _fernet_key(seed),
            "EAS_LOOKUP_KEY": f"simulation-lookup-{seed}",
            "EAS_SMS_PROVIDER": "simulator",
            "EAS_PUBLIC_BASE_URL": "http://simulator.invalid",
            "EAS_SCHEDULE_SEED": seed,
        }
    )


class Simulation:
    def __init__(
        self,
        app: Flask,
        protocol: LoadedProtocol,
        *,
        participants: int,
        days: int,
        seed: int,
        start: date,
        zones: list[str],
    ) -> None:
        self.app = app
        self.protocol = protocol
        self.days = days
        self.start = start
        self.people = make_cohort(seed, participants, zones, days)
        self.by_label = {person.label: person for person in self.people}
        self.clock = VirtualClock(datetime.combine(start - timedelta(days=1), time(12), UTC))
        install_clock(app, self.clock)
        self.client = app.test_client()
        self.truth = Truth()
        self.agenda: list[tuple[datetime, int, Any]] = []
        self.sequence = itertools.count()
        self.seen_message = 0
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

    def run(self, dispatcher: Dispatcher, progress=None) -> Truth:
        """Until noon UTC the day after the last study day: participants act at their own
        moments; the dispatcher ticks whenever a prompt or reminder falls due, at most once
        a minute (as `eas run` ticks)."""
        end = datetime.combine(self.start + timedelta(days=self.days + 1), time(12), UTC)
        last_tick = self.clock.now() - _STEP
        while self.clock.now() < end:
            due = self._next_due() or end
            next_tick = min(max(due, last_tick + _STEP), end)
            if self.agenda and self.agenda[0][0] < next_tick:
                moment, _, (action, args) = heapq.heappop(self.agenda)
                self.clock.set(max(moment, self.clock.now()))
                action(*args)
            else:
                self.clock.set(next_tick)
                dispatcher.tick()
                db.session.remove()
                last_tick = next_tick
            self._react()
            if progress:
                progress(self.clock.now())
        return self.truth

    def _next_due(self) -> datetime | None:
        now = self.clock.now()
        due = db.session.scalar(
            sa.select(sa.func.min(PlannedPrompt.due_at)).where(
                PlannedPrompt.status == PromptStatus.scheduled, PlannedPrompt.due_at > now
            )
        )
        reminder = db.session.scalar(
            sa.select(sa.func.min(PlannedPrompt.next_reminder_at)).where(
                PlannedPrompt.next_reminder_at > now
            )
        )
        db.session.remove()
        return min((x for x in (due, reminder) if x), default=None)

    def _react(self) -> None:
        """Read what the phones received since last time, and decide what each person does."""
        rows = db.session.execute(
            sa.select(SimulatedMessage.id, SimulatedMessage.participant_id, SimulatedMessage.body)
            .where(SimulatedMessage.id > self.seen_message)
            .order_by(SimulatedMessage.id)
        ).all()
        db.session.remove()
        labels = {pid: label for label, pid in self.ids.items()}
        for message_id, participant_id, body in rows:
            self.seen_message = max(self.seen_message, message_id)
            person = self.by_label[labels[participant_id]]
            self._on_text(person, body)

    def _on_text(self, person: Person, body: str) -> None:
        link = _LINK.search(body)
        if link:
            self._on_link(person, link.group(1))
            return
        item_message = re.match(r"^(?:.*\n)?(\d+)/(\d+) ", body, re.S) or body.startswith("Sorry")
        if not item_message:
            return  # thanks, notes, alert replies: nothing to answer
        prompt, response, is_open = open_conversation(self.ids[person.label], self.clock.now())
        db.session.remove()
        if prompt is None or not is_open:
            return
        if response is None and not self._decide(person, prompt):
            return
        delay = person.latency_seconds() if response is None else person.rng.uniform(15, 90)
        self._at(self.clock.now() + timedelta(seconds=delay), self._reply, person, prompt.id)

    def _decide(self, person: Person, prompt: PlannedPrompt) -> bool:
        """Whether this person answers this prompt (asked once; a reminder is a second chance)."""
        if prompt.id in self.decided and (self.decided[prompt.id] or person.rng.random() >= 0.3):
            return self.decided[prompt.id]
        chance = person.answers_today(prompt.study_day)
        self.decided[prompt.id] = person.rng.random() < chance
        if not self.decided[prompt.id]:
            self.truth.ignored_prompts.add(prompt.id)
        else:
            self.truth.ignored_prompts.discard(prompt.id)
        return self.decided[prompt.id]

    # what people do ---------------------------------------------------------------------------

    def _text(self, person: Person, body: str) -> None:
        """A text from the person's phone, through the simulator's reply endpoint."""
        response = self.client.post(f"/simulator/{self.ids[person.label]}", data={"body": body})
        if response.status_code != 302:
            raise RuntimeError(f"the phone simulator refused a text: {response.status_code}")
        self.truth.texts_sent += 1

    def _reply(self, person: Person, prompt_id: int) -> None:
        prompt, response, is_open = open_conversation(self.ids[person.label], self.clock.now())
        if prompt is None or prompt.id != prompt_id or not is_open:
            db.session.remove()
            return
        questionnaire = self.questionnaires[prompt.questionnaire_id]
        items = questionnaire["items"]
        current = response.current_item_id if response else items[0]["id"]
        values = responses.answered_values(response, questionnaire) if response else {}
        position = next(i for i, item in enumerate(items) if item["id"] == current)
        reasked = bool(response and response.reasked)
        db.session.remove()
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

    def _on_link(self, person: Person, token: str) -> None:
        link = resolve(token)
        if link is None:
            db.session.remove()
            return
        prompt = db.session.get(PlannedPrompt, link.prompt_id)
        answering = self._decide(person, prompt) and responses.response_for(prompt) is None
        db.session.remove()
        if answering:
            moment = self.clock.now() + timedelta(seconds=person.latency_seconds())
            self._at(moment, self._answer_page, person, token, link.prompt_id)

    def _answer_page(self, person: Person, token: str, prompt_id: int) -> None:
        """Open the link and answer page after page, as a browser without JavaScript would."""
        browser = self.app.test_client()
        questionnaire = None
        for _ in range(_MAX_PAGES):
            page = browser.get(f"/p/{token}")
            html = page.get_data(as_text=True)
            hidden = dict(_HIDDEN.findall(html))
            if page.status_code != 200 or "csrf_token" not in hidden:
                return  # thanks, or closed meanwhile
            if questionnaire is None:
                prompt = db.session.get(PlannedPrompt, prompt_id)
                questionnaire = self.questionnaires[prompt.questionnaire_id]
                db.session.remove()
            items = {item["id"]: item for item in questionnaire["items"]}
            form: list[tuple[str, str]] = list(hidden.items())
            for name in dict.fromkeys(_INPUT.findall(html)):
                if name not in items:
                    continue
                one = answer(person, items[name])
                self.truth.answers[(person.label, prompt_id, name)] = one.value
                form.extend((name, value) for value in one.web)
            browser.post(f"/p/{token}", data=MultiDict(form))
            self.clock.advance(timedelta(seconds=person.rng.uniform(20, 60)))

    def _report(self, person: Person) -> None:
        if self._status(person) is not ParticipantStatus.active:
            return
        schedule = next((s for s in self.definition["schedules"] if s["type"] == "event"), None)
        if schedule is None:
            return
        _, response, is_open = open_conversation(self.ids[person.label], self.clock.now())
        db.session.remove()
        if is_open and not (response and response.status.value == "completed"):
            return  # busy with a check-in: report later or not at all
        self.truth.reports_started += 1
        self._text(person, schedule["keyword"])
        latest, _, _ = open_conversation(self.ids[person.label], self.clock.now())
        if latest is not None:
            self.decided[latest.id] = True
        db.session.remove()

    def _stop(self, person: Person) -> None:
        if self._status(person) is ParticipantStatus.active:
            self._text(person, "STOP")
            self.truth.opted_out.append(person.label)

    def _withdraw(self, person: Person) -> None:
        participant = db.session.get(Participant, self.ids[person.label])
        if participant.status is ParticipantStatus.active:
            withdraw(participant, self.clock.now(), reason="simulated", actor="coordinator")
            db.session.commit()
            self.truth.withdrawn.append(person.label)
        db.session.remove()

    def _status(self, person: Person) -> ParticipantStatus:
        status = db.session.scalar(
            sa.select(Participant.status).where(Participant.id == self.ids[person.label])
        )
        db.session.remove()
        return status
