"""Signing in (throttled), open alerts acknowledged from the study page, the compliance
heatmap, and the export download."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.safety.models import AlertStatus, SafetyAlert
from tests.helpers import sign_in


def _csrf(client, path: str) -> str:
    return re.search(
        r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)
    ).group(1)


def test_wrong_passwords_are_throttled_per_account(client, make_user, study):
    make_user(study=study)
    for _ in range(5):
        page = sign_in(client, password="wrong password")
        assert "Wrong e-mail address or password." in page.get_data(as_text=True)
    locked = sign_in(client)  # even the right password, for 15 minutes
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_coordinator_acknowledges_an_alert_on_the_study_page(
    db, client, clock, phone, participant, make_user
):
    clock.advance(timedelta(days=1, hours=5))
    phone.text("I want to die")
    make_user(study=participant.study)
    sign_in(client)
    page = client.get("/studies/ai-connection").get_data(as_text=True)
    assert ">P1</a></td><td>crisis_words</td>" in page and "+1202" not in page
    (alert_id,) = re.findall(r"/alerts/(\d+)/ack", page)
    response = client.post(
        f"/studies/ai-connection/alerts/{alert_id}/ack",
        data={"csrf_token": _csrf(client, "/studies/ai-connection"), "note": "called, safe"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    alert = db.session.scalar(sa.select(SafetyAlert).where(SafetyAlert.number == int(alert_id)))
    assert alert.status is AlertStatus.acknowledged and alert.acknowledged_by == "coord@example.org"
    after = client.get("/studies/ai-connection").get_data(as_text=True)
    assert ">P1</a></td><td>crisis_words</td>" not in after


def test_a_viewer_can_look_but_not_act(db, client, clock, phone, participant, make_user):
    clock.advance(timedelta(days=1, hours=5))
    phone.text("I want to die")
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    page = client.get("/studies/ai-connection").get_data(as_text=True)
    assert ">P1</a></td><td>crisis_words</td>" in page
    assert "/ack" not in page and "Download" not in page
    alert_id = db.session.scalar(sa.select(SafetyAlert.number))
    refused = client.post(
        f"/studies/ai-connection/alerts/{alert_id}/ack",
        data={"csrf_token": _csrf(client, "/studies/ai-connection")},
    )
    assert refused.status_code == 404


def test_the_heatmap_and_the_export_download(
    db, client, clock, phone, participant, send_next, make_user
):
    send_next()
    phone.text("n 3 5 6 2 4")
    make_user(study=participant.study)
    sign_in(client)
    page = client.get("/studies/ai-connection").get_data(as_text=True)
    assert '<svg role="img"' in page and "P1, day 1: 1 of " in page
    download = client.post("/studies/ai-connection/export", data={"csrf_token": _csrf(client, "/")})
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    download.close()  # as a server does once sent: the temporary zip goes
    assert "ai-connection/datapackage.json" in names
    assert "ai-connection/responses_wide_momentary.csv" in names
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "study.exported"))
    assert audit.actor == "coord@example.org" and audit.details["via"] == "dashboard"


def test_the_heatmap_shows_every_participant_and_tells_none_from_nothing_due(
    db, client, clock, phone, participant, send_next, make_user, enroll_csv
):
    enroll_csv(
        participant.study,
        "label,phone,timezone,start_date\n"
        "a-participant-with-a-very-long-label-indeed,+13125550102,UTC,2026-04-30\n",
    )
    send_next()  # P1's first prompt, never answered
    clock.advance(timedelta(hours=3))
    make_user(study=participant.study)
    sign_in(client)
    page = client.get("/studies/ai-connection").get_data(as_text=True)
    # P1 missed everything due: orange, not the near-white of "no data"
    missed = re.search(r'fill="(#[0-9a-f]{6})"><title>P1, day 1: 0 of \d+ completed', page)
    assert missed and missed.group(1) == "#e66101"
    # the later participant has nothing due yet, and is listed all the same (cut to fit, in
    # full in the tooltip and the table)
    assert "<title>a-participant-with-a-very-long-label-indeed</title>" in page
    assert '<th scope="row">a-participant-with-a-very-long-label-indeed</th>' in page
    assert "none completed" in page and "all completed" in page
