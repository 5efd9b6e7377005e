"""Synthetic participants answering web prompts: the link opens in a browser of their own
(Flask's test client, keeping the session cookie), and each page is answered and sent with the
CSRF token it was shown with, through the real questionnaire pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from eas.simulation.cohort import Person, answer
from eas.surveys.visits import open_visit

#: A questionnaire has at most one page per item; this only guards against a loop.
_MAX_PAGES = 100
_INPUT = re.compile(r'name="([a-z][a-z0-9_]*)"')
_HIDDEN = re.compile(r'name="(csrf_token|page_item)" value="([^"]*)"')


@dataclass(frozen=True)
class _Visit:
    """A person answering a web prompt: their browser (it keeps the session cookie) and what
    the link leads to."""

    browser: FlaskClient
    token: str
    prompt_id: int
    questionnaire: str


class WebPages:
    """The web side of `engine.Simulation` (its app, clock, agenda, decisions and truth)."""

    def _on_link(self, person: Person, token: str) -> None:
        link = open_visit(token)
        if link is None:
            return
        if self._decide(person, link.prompt_id, link.study_day) and not link.started:
            visit = _Visit(self.app.test_client(), token, link.prompt_id, link.questionnaire_id)
            moment = self.clock.now() + timedelta(seconds=person.latency_seconds())
            self._at(moment, self._open_link, person, visit)

    def _open_link(self, person: Person, visit: _Visit) -> None:
        """The person opens the link, in a browser without JavaScript."""
        self._on_page(person, visit, visit.browser.get(f"/p/{visit.token}"), 1)

    def _on_page(self, person: Person, visit: _Visit, page, count: int) -> None:
        """Answer the page on screen and send it; the browser shows the next one at once, and
        the person sends that one 20 to 60 seconds later (the world goes on meanwhile)."""
        html = page.get_data(as_text=True)
        hidden = dict(_HIDDEN.findall(html))
        if page.status_code != 200 or "csrf_token" not in hidden or count > _MAX_PAGES:
            return  # thanks, or closed meanwhile
        items = {item["id"]: item for item in self.questionnaires[visit.questionnaire]["items"]}
        form: list[tuple[str, str]] = list(hidden.items())
        given = {}
        for name in dict.fromkeys(_INPUT.findall(html)):
            if name not in items:
                continue
            one = answer(person, items[name])
            given[(person.label, visit.prompt_id, name)] = one.value
            form.extend((name, value) for value in one.web)
        sent = visit.browser.post(f"/p/{visit.token}", data=MultiDict(form))
        if sent.status_code != 303:
            return  # closed while the person was answering: nothing of the page was saved
        self.truth.answers.update(given)
        self.plan_changed |= count == 1
        following = visit.browser.get(f"/p/{visit.token}")
        moment = self.clock.now() + timedelta(seconds=person.rng.uniform(20, 60))
        self._at(moment, self._on_page, person, visit, following, count + 1)
