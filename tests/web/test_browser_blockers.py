"""Two of issue 25's blockers, in headless Chromium; axe-core checks every page, screenshots go to
artifacts/blockers/. Both run on the suite's backend (EAS_TEST_BACKEND).

1. Links point at the address the app is served on (`make run PORT=5101` texted
   http://127.0.0.1:5000 links). `eas run --port <a free port>` runs its own code (in a thread,
   with its embedded dispatcher and the phone simulator, on a virtual clock); the dispatcher
   texts the evening diary; its link, clicked on the simulated phone, opens the questionnaire
   at the served origin, where it is answered. `eas participants link`, in another process's
   app beside the server, finds the address `eas run` noted (served-at.txt); with
   EAS_PUBLIC_BASE_URL set (another name of the same server), that address wins.
2. One truth for compliance: for the demo study with a day made by hand (completed, partial,
   missed and open prompts, one of the open ones started, a report) and, on SQLite, its
   simulated history (`eas simulate --into` takes a SQLite file only), the participants page,
   the heatmap's numbers, the API and the export's participants.csv (downloaded from the study
   page) give each participant the same completed / due: the rule's own figures, counted from
   the prompts' states (`prompt_states`: settled prompts count, open ones do not).
"""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

import eas.delivery.cli
import eas.delivery.runner
from eas import create_app
from eas.api.tokens import issue_token
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db
from eas.delivery.cli import run_command
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import SimulatedMessage
from eas.delivery.runner import DispatchTimer
from eas.participants.models import Participant
from eas.responses.compliance import report_schedules
from eas.responses.models import Response, ResponseStatus
from eas.responses.prompt_states import prompt_state
from eas.scheduling.models import PlannedPrompt
from eas.sms.inbound import receive
from eas.studies.operations import get_study
from tests import browsers
from tests.browsers import DESKTOP, PHONE, check_page, chromium, expect_visible, require_browser
from tests.databases import suite_backend, temporary_database
from tests.delivery.fakes import FakeProvider
from tests.helpers import ROOT, T0, make_test_config
from tests.simulation.helpers import HISTORY
from tests.surveys.helpers import DIARY_DUE, Answerer

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # Chromium, and a served app

ARTIFACTS = ROOT / "artifacts" / "blockers"
SLUG = "ai-connection"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _wait_for(what, seconds: float = 20.0):
    """`what()` once it is truthy; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what.__doc__ or what}")
        time.sleep(0.1)


# 1. Links point at the address `eas run` serves on ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="class")
def served(tmp_path_factory):
    """`eas run --port <free port>` over the demo study with P1 (day 1 tomorrow): the command's
    own code in a thread, on a virtual clock its embedded dispatcher reads too. Only what a
    thread cannot do is replaced: Werkzeug's run_simple by make_server and serve_forever (kept,
    to be shut down), the signal handlers (main thread only) by nothing, the logging set-up
    (pytest's stays), and the first tick's time by the wall clock's."""
    require_browser()
    folder = tmp_path_factory.mktemp("blockers-links")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        temporary_database(suite_backend(), folder) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        config = {
            **make_test_config(url, folder),
            "EAS_PUBLIC_BASE_URL": None,  # whatever the environment says
            "EAS_DISPATCH_INTERVAL_SECONDS": 0.2,
            "EAS_DISPATCH_WORKERS": 2,
        }
        patch.setenv("EAS_INSTANCE_PATH", str(folder))  # served-at.txt goes here, not ./instance
        app = create_app(config)
        assert app.instance_path == str(folder)
        clock = VirtualClock(T0)
        install_clock(app, clock)
        with app.app_context():
            csv_text = (
                "label,phone,timezone,start_date\nP1,+12025550101,America/New_York,2026-03-19\n"
            )
            browsers.demo_study(csv_text, owner="Coordinator", now=clock.now())
            db.session.remove()

        servers, errors = [], []

        def serve(host, port, application, *, use_reloader, **options):
            assert not use_reloader
            server = make_server(host, port, application, threaded=options.get("threaded", False))
            servers.append(server)
            server.serve_forever()

        patch.setattr(eas.delivery.cli, "run_simple", serve)
        patch.setattr(DispatchTimer, "stop_on_signals", lambda timer: None)
        patch.setattr(eas.delivery.cli, "_configure_logging", lambda: None)
        # APScheduler times its ticks by the wall clock: a first tick at the virtual clock's
        # time (months back) would have it count every interval missed since, for minutes.
        patch.setattr(eas.delivery.runner, "get_clock_now", lambda app: datetime.now(UTC))

        def run() -> None:
            try:
                with app.app_context():
                    run_command.main(["--port", str(port)], standalone_mode=False)
            except BaseException as error:  # reported by the fixture, not lost in the thread
                errors.append(error)

        thread = threading.Thread(target=run, name="eas-run", daemon=True)

        def listening():
            """`eas run` to listen"""
            assert not errors, errors
            return bool(servers)

        try:
            thread.start()
            _wait_for(listening)
            yield {"app": app, "clock": clock, "base": base, "port": port,
                   "config": config, "folder": folder}  # fmt: skip
        finally:
            if servers:
                servers[0].shutdown()
                thread.join(timeout=60)
            with app.app_context():
                db.engine.dispose()
        assert not thread.is_alive(), "eas run did not stop"
        assert not errors, errors


def _texted(app, start: str) -> str | None:
    """The text P1's simulated phone received that starts with `start`, if it did yet."""
    with app.app_context():
        body = db.session.scalar(
            sa.select(SimulatedMessage.body).where(SimulatedMessage.body.startswith(start))
        )
        db.session.remove()
    return body


def _diary_response(app) -> tuple[ResponseStatus, dict] | None:
    with app.app_context():
        response = db.session.scalar(
            sa.select(Response)
            .join(PlannedPrompt, PlannedPrompt.id == Response.prompt_id)
            .where(PlannedPrompt.schedule_id == "diary")
        )
        found = (
            None
            if response is None
            else (
                response.status,
                {a.item_id: (a.value_numeric, a.value_text) for a in response.answers},
            )
        )
        db.session.remove()
    return found


@pytest.fixture
def beside(served, monkeypatch):
    """Factory: the app of another process on the same instance folder and database (as
    `eas participants link` run beside `eas run`): nothing of the server's own config."""
    made = []
    monkeypatch.setenv("EAS_INSTANCE_PATH", str(served["folder"]))

    def _beside(**overrides):
        app = create_app({**served["config"], **overrides})
        assert app.config.get("EAS_SERVED_AT") is None
        install_clock(app, served["clock"])
        made.append(app)
        return app

    yield _beside
    for app in made:
        with app.app_context():
            db.engine.dispose()


def _personal_link(app) -> str:
    result = app.test_cli_runner().invoke(args=["participants", "link", SLUG, "P1"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


class TestLinksPointAtTheServedAddress:
    """(A class: `served` stops before the history below is simulated, which takes
    `db.session` for the whole process: `eas.core.db.session_on`.)"""

    def test_a_texted_link_opens_the_questionnaire_where_eas_run_serves(self, served):
        app, clock, base = served["app"], served["clock"], served["base"]
        # What `eas run` noted for other commands, and what it serves on: the same address.
        assert (served["folder"] / "served-at.txt").read_text().strip() == base

        clock.set(DIARY_DUE + timedelta(seconds=1))  # the embedded dispatcher sends the diary

        def diary_texted():
            """the dispatcher to text the diary to the phone simulator"""
            return _texted(app, "Evening diary")

        body = _wait_for(diary_texted)
        assert f"{base}/p/" in body, body

        with chromium() as browser:
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            browsers.sign_in(page, base + "/simulator/")
            page.get_by_role("link", name="P1").click()
            link = page.locator(".thread li", has_text="Evening diary").get_by_role("link")
            expect_visible(link)
            assert link.get_attribute("href").startswith(f"{base}/p/")
            check_page(page, ARTIFACTS, "1-phone-link")

            with context.expect_page() as opened:
                link.click()  # target=_blank: the phone's browser
            survey = opened.value
            survey.set_viewport_size(PHONE)
            expect_visible(survey.get_by_text("Page 1 of 3"))
            assert _origin(survey.url) == base
            check_page(survey, ARTIFACTS, "2-questionnaire")
            survey.get_by_label("About how many minutes").fill("30")
            survey.get_by_role("button", name="Next").click()
            expect_visible(survey.get_by_text("Page 2 of 3"))
            survey.get_by_role("group", name="take the place of contact with people").get_by_role(
                "radio", name="3", exact=True
            ).check()
            survey.get_by_role("button", name="Next").click()
            expect_visible(survey.get_by_text("Page 3 of 3"))
            survey.get_by_label("Anything else about today").fill("Opened from the text.")
            survey.get_by_role("button", name="Send").click()
            expect_visible(survey.get_by_role("heading", name="Thank you"))
            assert _origin(survey.url) == base
            check_page(survey, ARTIFACTS, "3-thanks")
            context.close()

        status, answers = _diary_response(app)
        assert status is ResponseStatus.completed
        assert answers["day_ai_minutes"][0] == 30 and answers["day_ai_replaced"][0] == 3
        assert answers["day_note"][1] == "Opened from the text."

    def test_eas_participants_link_beside_the_server_points_at_it(self, served, beside):
        base, port = served["base"], served["port"]
        url = _personal_link(beside())
        assert url.startswith(f"{base}/me/"), url
        with chromium() as browser:
            page = browser.new_page(viewport=PHONE)
            page.goto(url)
            expect_visible(page.get_by_role("heading", name="AI conversations, connection"))
            assert _origin(page.url) == base
            check_page(page, ARTIFACTS, "4-personal-page")

            # EAS_PUBLIC_BASE_URL wins over the noted address: here another name of the server.
            public = f"http://localhost:{port}"
            public_url = _personal_link(beside(EAS_PUBLIC_BASE_URL=public + "/"))
            assert public_url.startswith(f"{public}/me/"), public_url
            page.goto(public_url)
            expect_visible(page.get_by_role("heading", name="AI conversations, connection"))
            assert _origin(page.url) == public
            check_page(page, ARTIFACTS, "5-personal-page-public-address")
            refused = page.goto(url)  # the link before: the new one replaced it
            assert refused.status == 404
            page.close()


# 2. One truth for compliance --------------------------------------------------------------------

#: 22:31 in Chicago on the demo's first day: demo-01's and demo-02's diaries (sent at 21:30 their
#: time, for 150 minutes) are open; their baseline questionnaires closed at 22:00 their time.
READING = datetime(2026, 3, 19, 3, 31, tzinfo=UTC)
PHONES = {"demo-01": "+12025550101", "demo-02": "+13125550102"}
#: Texts after the nth check-in: answered whole (completed), or its first item only (partial
#: once closed); then a report after an AI chat, started by texting AI (counted apart).
REPLIES = {
    ("demo-01", 1): ["n 3 5 6 2 4"],
    ("demo-01", 2): ["n"],
    ("demo-02", 1): ["n 4 4 4 1 4", "AI", "1", "5", "5", "5", "5"],
}


def _a_day_by_hand(app, clock) -> None:
    """The four demo participants' first day up to READING, the dispatcher sending each prompt
    as it falls due; some check-ins answered by text, whole or in part, the rest not, and a
    report; then demo-01 starts their open diary (page 1 of 3)."""
    provider = FakeProvider(clock)
    with app.app_context():
        dispatcher = Dispatcher(provider, name="by-hand", clock=clock, workers=1)
        due = browsers.due_prompts(
            Participant.label.in_(["demo-01", "demo-02", "demo-03", "demo-04"]),
            PlannedPrompt.due_at <= READING,
        )
        beeps = Counter()
        for moment, schedule, label in due:
            clock.set(max(clock.now(), moment + timedelta(seconds=1)))
            dispatcher.tick()
            if schedule == "beeps":
                beeps[label] += 1
                replies = []
                for n, body in enumerate(REPLIES.get((label, beeps[label]), [])):
                    sid = f"SMhand-{label}-{beeps[label]}-{n}"
                    text = {"MessageSid": sid, "From": PHONES[label], "Body": body}
                    replies = receive(text, clock.now()).replies
                    db.session.commit()
                if len(REPLIES.get((label, beeps[label]), [])) > 1:
                    assert "Got it, thank you." in " ".join(replies), replies  # the report's end
        clock.set(READING)
        dispatcher.tick()
        dispatcher.close()
        demo_01 = db.session.scalar(sa.select(Participant.id).where(Participant.label == "demo-01"))
        diary = next(b for b in provider.bodies_for(demo_01) if b.startswith("Evening diary"))
        db.session.remove()
    path = re.search(r"https?://[^/]+(/p/\S+)", diary).group(1)
    started = Answerer(app.test_client(), path).submit({"day_ai_minutes": "20"})
    assert started.status_code == 303, started.get_data(as_text=True)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A demo instance as `make run` leaves it (the `demo` fixture's steps, on the suite's
    backend: with its simulated history on SQLite, which alone `eas simulate --into` takes), a
    day by hand, an owner with an API token; served on a free port."""
    require_browser()
    folder = tmp_path_factory.mktemp("blockers-compliance")
    with temporary_database(suite_backend(), folder) as url:
        app, clock = browsers.app_on_a_virtual_clock(folder, url)
        try:
            with app.app_context():
                people = (ROOT / "protocols" / "demo-participants.csv").read_text()
                browsers.demo_study(people, actor="cli", start_rule="same_day")
                db.session.remove()
            if suite_backend() == "sqlite":  # `eas simulate --into` adds to a SQLite file only
                result = app.test_cli_runner().invoke(args=HISTORY)
                assert result.exit_code == 0, result.output
            _a_day_by_hand(app, clock)
            with app.app_context():
                user = browsers.make_owner(get_study(SLUG).id, clock.now())
                _, token = issue_token(user, "compare", clock.now(), actor="test")
                db.session.commit()
                db.session.remove()
            with browsers.serving(app) as base:
                yield {"app": app, "clock": clock, "token": token, "base": base}
        finally:
            with app.app_context():
                db.engine.dispose()


#: Outcomes that count toward compliance: settled ones (`eas.responses.compliance`).
SETTLED = {"completed", "partial", "missed", "expired", "failed"}


def _the_rule(app, now) -> tuple[dict[str, tuple[int, int]], Counter]:
    """Each participant's (completed, due) by the prompts' states, and the states of the
    demo participants' planned prompts (and whether an open one was started)."""
    with app.app_context():
        study = get_study(SLUG)
        reports = report_schedules(study)
        rows = db.session.execute(
            sa.select(
                Participant.label,
                PlannedPrompt.schedule_id,
                PlannedPrompt.status,
                Response.status,
                PlannedPrompt.expires_at,
            )
            .join(Participant, Participant.id == PlannedPrompt.participant_id)
            .outerjoin(Response, Response.prompt_id == PlannedPrompt.id)
            .where(Participant.study_id == study.id)
        ).all()
        labels = db.session.scalars(
            sa.select(Participant.label).where(Participant.study_id == study.id)
        ).all()
        db.session.remove()
    figures = {label: [0, 0] for label in labels}
    states = Counter()
    for label, schedule, status, response, expires_at in rows:
        if schedule in reports:
            continue
        state = prompt_state(status, response, expires_at, now)
        figures[label][0] += state == "completed"
        figures[label][1] += state in SETTLED
        if label.startswith("demo-"):
            states[state] += 1
            states["open and started"] += state == "open" and response is not None
    return {label: tuple(pair) for label, pair in figures.items()}, states


def _figures(text: str) -> tuple[int, int, int | None]:
    found = re.fullmatch(r"(\d+) / (\d+)(?: \((\d+)%\))?", text.strip())
    assert found, text
    done, due, percent = found.groups()
    return int(done), int(due), None if percent is None else int(percent)


def test_the_participants_page_the_heatmap_the_api_and_the_export_agree(history):
    base = history["base"]
    rule, states = _the_rule(history["app"], history["clock"].now())
    # The history holds each kind of prompt the rule tells apart.
    for state in ("completed", "partial", "missed", "open", "open and started", "not_sent"):
        assert states[state] > 0, (state, states)
    assert sum(due for _, due in rule.values()) > 0

    with chromium() as browser:
        context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
        page = context.new_page()
        browsers.sign_in(page, f"{base}/studies/{SLUG}/participants")
        table = page.locator("table", has=page.get_by_role("columnheader", name="Completed / due"))
        expect_visible(table)
        headers = table.get_by_role("columnheader").all_inner_texts()
        column = headers.index("Completed / due") - 1  # the row's header is a th, not a td
        on_page, percents = {}, {}
        for row in table.locator("tbody tr").all():
            label = row.locator("th").inner_text().strip()
            done, due, percent = _figures(row.locator("td").nth(column).inner_text())
            on_page[label], percents[label] = (done, due), percent
        check_page(page, ARTIFACTS, "6-participants-compliance")

        api = page.request.get(
            f"{base}/api/v1/studies/{SLUG}/compliance?page_size=100",
            headers={"Authorization": f"Bearer {history['token']}"},
        )
        assert api.ok, api.text()
        in_api = {row["participant"]: row for row in api.json()}

        page.get_by_role("navigation", name="Study").get_by_role("link", name="Overview").click()
        page.locator("summary", has_text="The numbers").click()
        numbers = page.locator("details table")
        expect_visible(numbers)
        on_heatmap = {}
        for row in numbers.locator("tbody tr").all():
            cells = [
                re.fullmatch(r"(\d+)/(\d+)", t.strip()) for t in row.locator("td").all_inner_texts()
            ]
            pairs = [(int(c.group(1)), int(c.group(2))) for c in cells if c]
            on_heatmap[row.locator("th").inner_text().strip()] = (
                sum(done for done, _ in pairs),
                sum(due for _, due in pairs),
            )
        check_page(page, ARTIFACTS, "7-overview-numbers")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the data package (zip)").click()
        with zipfile.ZipFile(download.value.path()) as package:
            text = package.read(f"{SLUG}/participants.csv").decode()
        in_export = {row["participant"]: row for row in csv.DictReader(io.StringIO(text))}
        context.close()

    assert set(on_page) == set(in_api) == set(in_export) == set(on_heatmap) == set(rule)
    for label in sorted(rule):
        api_row, exported = in_api[label], in_export[label]
        readings = {
            "rule": rule[label],
            "page": on_page[label],
            "heatmap": on_heatmap[label],
            "api": (api_row["completed"], api_row["due"]),
            "export": (int(exported["prompts_completed"]), int(exported["prompts_sendable"])),
        }
        assert len(set(readings.values())) == 1, (label, readings)
        done, due = rule[label]
        assert percents[label] == (round(100 * done / due) if due else None), label
        assert api_row["rate"] == (done / due if due else None), label
        assert int(exported["reports_completed"]) == api_row["reports"], label
    assert in_api["demo-02"]["reports"] == 1  # the report by hand, not among the due
    if suite_backend() == "sqlite":
        assert any(label.startswith("sim-") for label in rule), "the simulated history"
