"""Sign-ins at the same moment, against a real server on a database file: none fails (SQLite
answered 500 "database is locked"), and every failed attempt is counted, one at a time, so
that many at once cannot outrun the throttle."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import flask_migrate
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from eas import create_app
from eas.core.clock import now_utc
from eas.core.db import db
from eas.users import operations
from eas.users.models import LoginAttempt
from eas.users.operations import MAX_FAILURES_PER_ACCOUNT, create_user
from tests.databases import suite_backend, temporary_database
from tests.helpers import PASSWORD, make_test_config

pytestmark = pytest.mark.slow  # a real server

EMAIL = "coord@example.org"
WRONG = "Wrong e-mail address or password."
THROTTLED = "Too many failed sign-ins"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The app served by a threaded server, as `eas run` serves it, on its own database."""
    tmp = tmp_path_factory.mktemp("sign-in")
    with temporary_database(suite_backend(), tmp) as url:
        app = create_app(make_test_config(url, tmp))
        with app.app_context():
            flask_migrate.upgrade()
            create_user(EMAIL, "Coordinator", PASSWORD, now_utc())
            db.session.commit()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield {"app": app, "base": f"http://127.0.0.1:{server.server_port}"}
        finally:
            server.shutdown()
            thread.join()
            server.server_close()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def base(site):
    """The server's address, with no sign-in attempt on record (each test throttles)."""
    with site["app"].app_context():
        db.session.execute(sa.delete(LoginAttempt))
        db.session.commit()
        db.session.remove()
    return site["base"]


def _failures(site) -> int:
    with site["app"].app_context():
        try:
            return db.session.scalar(
                sa.select(sa.func.count()).where(LoginAttempt.succeeded.is_(False))
            )
        finally:
            db.session.remove()


def _sign_in_at_once(base: str, attempts: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """Each (e-mail, password) from a browser of its own, all sent at the same moment once
    every browser has its sign-in page: (status, page) for each."""
    ready = threading.Barrier(len(attempts))

    def attempt(email: str, password: str) -> tuple[int, str]:
        browser = build_opener(HTTPCookieProcessor(CookieJar()))
        with browser.open(f"{base}/login", timeout=60) as page:
            token = _TOKEN.search(page.read().decode()).group(1)
        form = urlencode({"csrf_token": token, "email": email, "password": password}).encode()
        ready.wait(timeout=60)
        try:
            with browser.open(f"{base}/login", data=form, timeout=120) as answer:
                return answer.status, answer.read().decode()
        except HTTPError as error:
            with error:
                return error.code, error.read().decode()

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(lambda pair: attempt(*pair), attempts))


def _outcomes(answers: list[tuple[int, str]]) -> list[str]:
    return [
        "wrong" if WRONG in page else "throttled" if THROTTLED in page else f"{status}"
        for status, page in answers
    ]


def test_wrong_passwords_at_once_are_all_counted_and_throttled(site, base):
    answers = _sign_in_at_once(base, [(EMAIL, f"wrong password {n}") for n in range(12)])
    outcomes = _outcomes(answers)
    # Each password checked was counted before the next was: only the limit's worth were.
    assert sorted(outcomes) == ["throttled"] * 7 + ["wrong"] * MAX_FAILURES_PER_ACCOUNT
    assert _failures(site) == MAX_FAILURES_PER_ACCOUNT
    (right,) = _sign_in_at_once(base, [(EMAIL, PASSWORD)])
    assert _outcomes([right]) == ["throttled"]


def test_an_address_is_throttled_across_accounts_at_once(site, base, monkeypatch):
    monkeypatch.setattr(operations, "MAX_FAILURES_PER_ADDRESS", 4)
    answers = _sign_in_at_once(base, [(f"nobody{n}@example.org", "guess 12345") for n in range(10)])
    assert sorted(_outcomes(answers)) == ["throttled"] * 6 + ["wrong"] * 4
    assert _failures(site) == 4
