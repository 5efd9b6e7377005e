"""Synthetic participants answering web prompts: the link their phone received opens in a
browser of their own (keeping the session cookie), and each page is answered and sent with the
CSRF token it was shown with, through the real questionnaire pages."""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import NamedTuple
from urllib.parse import urlencode

from flask import Flask
from werkzeug.test import run_wsgi_app

from eas.simulation.checkins import CheckIn, Prompted, is_reminder
from eas.simulation.cohort import Person, answer

#: A questionnaire has at most one page per item; this only guards against a loop.
_MAX_PAGES = 100
_INPUT = re.compile(r'name="([a-z][a-z0-9_]*)"')
_HIDDEN = re.compile(r'name="(csrf_token|page_item)" value="([^"]*)"')


class Page(NamedTuple):
    status_code: int
    html: str


@dataclass
class Browser:
    """A browser without JavaScript, as the app sees one: each request handed to it as a WSGI
    server hands it over (the environment Flask's test client builds), with the cookies the
    app set. Flask's test client does the same, and more, for a third of a page's cost."""

    app: Flask
    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, path: str) -> Page:
        return self._request("GET", path)

    def post(self, path: str, form: list[tuple[str, str]]) -> Page:
        return self._request("POST", path, urlencode(form).encode())

    def _request(self, method: str, path: str, body: bytes | None = None) -> Page:
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "REQUEST_URI": path,
            "RAW_URI": path,
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": "eas-simulation",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if body is not None:
            environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
            environ["CONTENT_LENGTH"] = str(len(body))
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        chunks, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        for set_cookie in headers.getlist("Set-Cookie"):
            self._keep(set_cookie)
        return Page(int(status.split(" ", 1)[0]), b"".join(chunks).decode())

    def _keep(self, set_cookie: str) -> None:
        cookie = SimpleCookie()
        cookie.load(set_cookie)
        for name, morsel in cookie.items():
            if not morsel.value or morsel["max-age"] == "0":
                self.cookies.pop(name, None)  # the app deleted it
            else:
                self.cookies[name] = morsel.coded_value  # sent back as it came


@dataclass(frozen=True)
class _Visit:
    """A person answering a web prompt: their browser (it keeps the session cookie), the link
    they opened and the check-in it is."""

    browser: Browser
    token: str
    check_in: CheckIn


class WebPages:
    """The web side of `engine.Simulation` (its app, clock, agenda, phones, decisions and
    truth)."""

    def _on_link(self, person: Person, body: str, token: str) -> None:
        """A text with a link: a web prompt, or a reminder of the latest one of its
        questionnaire (each text has a link of its own; they all lead to the one prompt)."""
        links = self.phones[person.label].links
        questionnaire = self.texts.link_questionnaire(body)
        check_in = links.get(questionnaire) if is_reminder(body) else None
        if check_in is None:
            now = self.clock.now()
            check_in = links[questionnaire] = CheckIn(
                Prompted(person.label, questionnaire, now),
                self._study_day(person, now),
                self.texts.expires(questionnaire, now, report=False),
            )
        if self._decide(person, check_in) and not check_in.started:
            visit = _Visit(Browser(self.app), token, check_in)
            moment = self.clock.now() + timedelta(seconds=person.latency_seconds())
            self._at(moment, self._open_link, person, visit)

    def _open_link(self, person: Person, visit: _Visit) -> None:
        """The person opens the link, in a browser without JavaScript."""
        self._on_page(person, visit, visit.browser.get(f"/p/{visit.token}"), 1)

    def _on_page(self, person: Person, visit: _Visit, page: Page, count: int) -> None:
        """Answer the page on screen and send it; the browser shows the next one at once, and
        the person sends that one 20 to 60 seconds later (the world goes on meanwhile)."""
        html = page.html
        hidden = dict(_HIDDEN.findall(html))
        if page.status_code != 200 or "csrf_token" not in hidden or count > _MAX_PAGES:
            return  # thanks, or closed meanwhile
        check_in = visit.check_in
        form: list[tuple[str, str]] = list(hidden.items())
        given = {}
        for name in dict.fromkeys(_INPUT.findall(html)):
            item = self.texts.item(check_in.questionnaire, name)
            if item is None:
                continue
            one = answer(person, item)
            given[(*check_in.prompted, name)] = one.value
            form.extend((name, value) for value in one.web)
        sent = visit.browser.post(f"/p/{visit.token}", form)
        if sent.status_code != 303:
            return  # closed while the person was answering: nothing of the page was saved
        self.truth.answers.update(given)
        self.plan_changed |= count == 1
        check_in.started = True
        following = visit.browser.get(f"/p/{visit.token}")
        moment = self.clock.now() + timedelta(seconds=person.rng.uniform(20, 60))
        self._at(moment, self._on_page, person, visit, following, count + 1)
