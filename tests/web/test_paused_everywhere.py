"""A pause with an end date, seen everywhere (issue 25, blocker 5): the participant page, the
participants list, `eas participants list` and the API all say "paused until" its end in the
participant's own time and zone, and "active" again once it has passed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from eas.api.tokens import issue_token
from eas.participants.models import Pause
from tests.helpers import sign_in
from tests.web.helpers import post, text

PEOPLE = "/studies/ai-connection/participants"
API = "/api/v1/studies/ai-connection/participants"
#: Sat 21 Mar 2026 14:00 in New York (EDT): three days after the tests' T0.
UNTIL = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)
PAUSED = "paused until Sat 21 Mar 2026 14:00 EDT"


def _everywhere(db, client, runner, token: str) -> dict:
    """P1's state on the participant page, in the list, in the CLI and in the API."""
    page = text(client.get(f"{PEOPLE}/P1"))
    listed = text(client.get(PEOPLE))
    cli = runner.invoke(args=["participants", "list", "ai-connection"])
    assert cli.exit_code == 0, cli.output
    db.session.expire_all()
    headers = {"Authorization": f"Bearer {token}"}
    return {
        "page": re.search(r"<p>([^<]*) · America/New_York · awake", page)[1],
        "list": re.search(r">P1</a></th>\s*<td>([^<]*)</td>", listed)[1],
        "cli": cli.output.split("\t")[1],
        "api list": client.get(API, headers=headers).get_json()[0],
        "api detail": client.get(f"{API}/P1", headers=headers).get_json(),
    }


def test_a_pause_with_an_end_date_reads_paused_until_everywhere(
    db, client, runner, clock, participant, make_user
):
    user = make_user(study=participant.study)
    _, token = issue_token(user, "test", clock.now(), actor="test")
    db.session.commit()
    sign_in(client)
    before = _everywhere(db, client, runner, token)
    assert (before["page"], before["list"], before["cli"]) == ("Active", "active", "active")

    # Typed on the page in the participant's local time.
    paused = post(client, f"{PEOPLE}/P1/pause", {"until": "2026-03-21T14:00"})
    assert paused.status_code == 303
    assert f"P1: {PAUSED}; " in text(client.get(paused.location))
    shown = _everywhere(db, client, runner, token)
    assert shown["page"] == "Paused until Sat 21 Mar 2026 14:00 EDT"
    assert shown["list"] == PAUSED
    assert shown["cli"] == PAUSED
    for answer in (shown["api list"], shown["api detail"]):
        assert answer["status"] == "active"  # stored: the pause ends by itself
        assert answer["state"] == "paused" and answer["state_text"] == PAUSED
        assert answer["paused_until"] == "2026-03-21T18:00:00+00:00"
        assert answer["paused_until_local"] == "2026-03-21T14:00:00-04:00"

    clock.set(UNTIL - timedelta(minutes=1))
    assert _everywhere(db, client, runner, token)["cli"] == PAUSED

    clock.set(UNTIL + timedelta(minutes=1))
    after = _everywhere(db, client, runner, token)
    assert (after["page"], after["list"], after["cli"]) == ("Active", "active", "active")
    for answer in (after["api list"], after["api detail"]):
        assert answer["state"] == "active" and answer["state_text"] == "active"
        assert answer["paused_until"] is None and answer["paused_until_local"] is None


def test_an_open_ended_pause_reads_paused_everywhere(
    db, client, runner, clock, participant, make_user
):
    user = make_user(study=participant.study)
    _, token = issue_token(user, "test", clock.now(), actor="test")
    db.session.commit()
    sign_in(client)
    post(client, f"{PEOPLE}/P1/pause", {"until": ""})
    shown = _everywhere(db, client, runner, token)
    assert (shown["page"], shown["list"], shown["cli"]) == ("Paused", "paused", "paused")
    assert shown["api detail"]["state"] == "paused" and shown["api detail"]["paused_until"] is None
    page = text(client.get(f"{PEOPLE}/P1"))
    assert "Wed 18 Mar 2026 10:00 EDT until resumed." in page and "to until" not in page


def test_a_pause_yet_to_start_is_active_and_announced(db, client, clock, participant, make_user):
    now = clock.now()
    participant.pauses.append(
        Pause(starts_at=now + timedelta(days=1), ends_at=UNTIL, created_at=now)
    )
    make_user(study=participant.study)
    sign_in(client)
    page = text(client.get(f"{PEOPLE}/P1"))
    assert (
        "<p>Active (pause from Thu 19 Mar 2026 10:00 EDT to Sat 21 Mar 2026 14:00 EDT) · " in page
    )
    assert "<td>active</td>" in text(client.get(PEOPLE))
    clock.set(now + timedelta(days=1))
    assert f"<td>{PAUSED}</td>" in text(client.get(PEOPLE))


def test_the_study_counts_a_timed_pause_as_paused(db, client, clock, participant, make_user):
    user = make_user(study=participant.study, role="owner")
    _, token = issue_token(user, "counts", clock.now(), actor="test")
    now = clock.now()
    db.session.add(
        Pause(participant_id=participant.id, starts_at=now, ends_at=UNTIL, created_at=now)
    )
    db.session.commit()
    sign_in(client)
    page = text(client.get("/studies/ai-connection"))
    counts = page.split('id="participants-h"')[1]
    assert re.search(r"<td>0</td>\s*<td>1</td>", counts)  # active 0, paused 1
    study = client.get(
        "/api/v1/studies/ai-connection", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert study["participants"]["paused"] == 1 and study["participants"]["active"] == 0
