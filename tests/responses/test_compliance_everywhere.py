"""One rule for compliance on the dashboard, in the API and in the export: planned prompts that
fell due and are settled (completed, or closed unanswered); reports participants started
themselves counted apart; an open prompt neither kept nor missed yet. Compared for a study with
a simulated history (sim-008 read 16/22 on the page and 14/19 in the export)."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest
import sqlalchemy as sa

from eas.api.tokens import issue_token
from eas.core.db import db
from eas.responses.prompt_states import STATES
from eas.studies.operations import get_study
from eas.users.models import StudyRole, User
from eas.users.operations import create_user, grant
from tests.helpers import PASSWORD, sign_in

_ROW = re.compile(r">(sim-\d+)</a></th>.*?<td>(\d+) / (\d+)", re.S)


@pytest.fixture(scope="module")
def readings(demo, tmp_path_factory):
    app, clock, *_ = demo
    with app.app_context():
        study = get_study("ai-connection")
        user = create_user("analyst@example.org", "Analyst", PASSWORD, clock.now())
        grant(user, study.id, StudyRole.owner, clock.now(), actor="test")
        _, token = issue_token(user, "compare", clock.now(), actor="test")
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    page = client.get("/studies/ai-connection/participants").get_data(as_text=True)
    api = client.get(
        "/api/v1/studies/ai-connection/compliance?page_size=100",
        headers={"Authorization": f"Bearer {token}"},
    ).json
    out = tmp_path_factory.mktemp("export")
    result = app.test_cli_runner().invoke(args=["export", "ai-connection", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with (out / "participants.csv").open() as fh:
        exported = {row["participant"]: row for row in csv.DictReader(fh)}
    return page, api, exported


def test_the_page_the_api_and_the_export_agree(readings):
    page, api, exported = readings
    on_page = {label: (int(done), int(due)) for label, done, due in _ROW.findall(page)}
    in_api = {row["participant"]: (row["completed"], row["due"]) for row in api}
    in_export = {
        label: (int(row["prompts_completed"]), int(row["prompts_sendable"]))
        for label, row in exported.items()
    }
    simulated = sorted(label for label in in_api if label.startswith("sim-"))
    assert simulated and sum(in_api[label][1] for label in simulated) > 0
    for label in simulated:
        assert on_page[label] == in_api[label] == in_export[label], label


def test_reports_are_counted_apart(readings):
    _, api, exported = readings
    reports = {row["participant"]: row["reports"] for row in api}
    assert any(reports.values()), "the simulated participants started reports"
    for label, count in reports.items():
        assert int(exported[label]["reports_completed"]) == count


@pytest.fixture(scope="module")
def states_of_one(demo, readings, tmp_path_factory):
    """One simulated participant's prompts' states on their page, in the API, in `eas schedule
    show` and in the export (cancelled ones left out: the CLI and the API leave them out)."""
    app, *_ = demo
    label = "sim-001"
    client = app.test_client()
    sign_in(client, "analyst@example.org")
    page = client.get(f"/studies/ai-connection/participants/{label}").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "analyst@example.org"))
        _, token = issue_token(user, "states", demo[1].now(), actor="test")
        db.session.commit()
        db.session.remove()
    api = client.get(
        f"/api/v1/studies/ai-connection/participants/{label}/prompts?page_size=500",
        headers={"Authorization": f"Bearer {token}"},
    ).json
    cli = app.test_cli_runner().invoke(args=["schedule", "show", "ai-connection", label])
    out = tmp_path_factory.mktemp("states")
    app.test_cli_runner().invoke(args=["export", "ai-connection", "--out", str(out)])
    with (out / "prompts.csv").open() as fh:
        exported = [row["status"] for row in csv.DictReader(fh) if row["participant"] == label]
    prompts = page.split('id="prompts-h"')[1].split("</section>")[0]
    on_page = re.findall(r"<td>(?:sms|web)</td><td>([a-z ]+?)(?: <span|</td>)", prompts)
    return {
        "page": Counter(s.replace(" ", "_") for s in on_page if s != "cancelled"),
        "api": Counter(row["state"] for row in api if row["state"] != "cancelled"),
        "cli": Counter(line.split()[8] for line in cli.output.splitlines()),
        "export": Counter(state for state in exported if state != "cancelled"),
    }


def test_one_prompt_vocabulary_on_the_page_in_the_api_the_cli_and_the_export(states_of_one):
    """One word per state everywhere: "not_sent" (not "scheduled"), "completed" (not "sent")."""
    assert set(states_of_one["api"]) <= set(STATES)
    assert states_of_one["api"]["completed"] > 0, states_of_one
    assert (
        states_of_one["page"]
        == states_of_one["api"]
        == states_of_one["cli"]
        == states_of_one["export"]
    ), states_of_one
