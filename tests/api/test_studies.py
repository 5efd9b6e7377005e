"""Studies, protocol versions (publishing with errors by line, column and field), compliance
and the export download."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.protocols.validation import ProtocolInvalid, validate_protocol_text
from tests.helpers import DEMO_PROTOCOL

STUDY = "/studies/ai-connection"


def _audit(db, action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_studies_one_is_on(create_study, participant, api):
    create_study(DEMO_PROTOCOL.read_text().replace("id: ai-connection", "id: hidden"))
    listed = api.get("/studies")
    assert listed.status_code == 200
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    (study,) = listed.get_json()
    assert study == api.get(STUDY).get_json()
    assert study["slug"] == "ai-connection" and study["role"] == "owner"
    assert study["current_version"] == 1 and study["duration_days"] == 14
    assert study["participants"]["active"] == 1 and study["participants"]["withdrawn"] == 0
    assert study["created_at"] == "2026-03-18T14:00:00+00:00"


def test_protocol_versions_are_listed_and_read(study, api):
    (version,) = api.get(f"{STUDY}/versions").get_json()
    assert version["number"] == 1 and len(version["source_hash"]) == 64
    detail = api.get(f"{STUDY}/versions/1").get_json()
    assert detail["source_text"] == DEMO_PROTOCOL.read_text()
    assert detail["definition"]["study"]["id"] == "ai-connection"
    missing = api.get(f"{STUDY}/versions/2")
    assert missing.status_code == 404 and missing.get_json()["code"] == 404


def test_publishing_a_new_version(db, clock, participant, api):
    text = DEMO_PROTOCOL.read_text().replace("duration_days: 14", "duration_days: 16")
    clock.advance(timedelta(hours=1))
    published = api.post(f"{STUDY}/versions", json={"protocol": text, "source_name": "v2.yaml"})
    assert published.status_code == 201, published.get_json()
    body = published.get_json()
    assert body["number"] == 2 and body["created"] is True and body["source_name"] == "v2.yaml"
    assert body["prompts_planned"] > 0
    assert api.get(STUDY).get_json()["duration_days"] == 16
    (event,) = _audit(db, "study.version_published")
    assert event.actor == "owner@example.org" and event.details["version"] == 2

    again = api.post(f"{STUDY}/versions", json={"protocol": text})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert len(_audit(db, "study.version_published")) == 1
    assert [v["number"] for v in api.get(f"{STUDY}/versions").get_json()] == [1, 2]


def test_a_bad_protocol_is_refused_with_every_error_located(db, study, api):
    text = DEMO_PROTOCOL.read_text().replace("duration_days: 14", "duration_days: fourteen")
    text = text.replace("  sms: {max_segments: 2}", "  sms: {max_segments: 2}\n  colour: blue")
    refused = api.post(f"{STUDY}/versions", json={"protocol": text})
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["code"] == 422 and "2 error(s)" in body["message"]
    errors = body["errors"]["json"]["protocol"]
    lines = text.splitlines()
    assert {(e["field"], e["line"]) for e in errors} == {
        ("study.duration_days", lines.index("  duration_days: fourteen") + 1),
        ("study.colour", lines.index("  colour: blue") + 1),
    }
    try:
        validate_protocol_text(text)
    except ProtocolInvalid as exc:
        expected = [(e.line, e.column, e.path, e.message) for e in exc.errors]
    assert [(e["line"], e["column"], e["field"], e["message"]) for e in errors] == expected
    assert api.get(STUDY).get_json()["current_version"] == 1
    assert _audit(db, "study.version_published") == []


def test_yaml_syntax_errors_and_another_studys_protocol(study, api):
    broken = api.post(f"{STUDY}/versions", json={"protocol": "study: {id: [\n"})
    assert broken.status_code == 422
    (error,) = broken.get_json()["errors"]["json"]["protocol"]
    assert "YAML" in error["message"] and error["line"] >= 1

    other = DEMO_PROTOCOL.read_text().replace("id: ai-connection", "id: elsewhere")
    refused = api.post(f"{STUDY}/versions", json={"protocol": other})
    assert refused.status_code == 422
    (error,) = refused.get_json()["errors"]["json"]["protocol"]
    assert error["field"] == "study.id" and error["line"] == 8 and "elsewhere" in error["message"]
    assert [s["slug"] for s in api.get("/studies").get_json()] == ["ai-connection"]


def test_request_bodies_are_checked_field_by_field(study, api):
    refused = api.post(f"{STUDY}/versions", json={"protocl": "x"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"] == {
        "protocl": ["Unknown field."],
        "protocol": ["Missing data for required field."],
    }
    not_json = api.post(f"{STUDY}/versions", data="protocol: x", content_type="text/plain")
    assert not_json.status_code == 422


def test_compliance_per_participant(db, clock, phone, participant, send_next, enroll_csv, api):
    # P2 starts later: nothing of theirs is due yet (their random times differ every run).
    p2_csv = "label,phone,timezone,start_date\nP2,+12025550102,America/Chicago,2026-03-23\n"
    enroll_csv(participant.study, p2_csv)
    db.session.commit()
    send_next()
    phone.text("n 3 5 6 2 4")
    rows = api.get(f"{STUDY}/compliance?threshold=0.5").get_json()
    assert [row["participant"] for row in rows] == ["P1", "P2"]
    p1, p2 = rows
    assert p1["due"] >= 1 and p1["completed"] == 1 and p1["sent"] == p1["due"]
    assert p1["rate"] == 1 / p1["due"] and p1["last_completed_at"].endswith("+00:00")
    assert p1["below_threshold"] is False  # fewer than 3 prompts due: too early to judge
    assert p2["due"] == 0 and p2["rate"] is None and p2["below_threshold"] is False
    bad = api.get(f"{STUDY}/compliance?threshold=2")
    assert bad.status_code == 422 and "threshold" in bad.get_json()["errors"]["query"]


def test_the_export_download_is_a_zipped_package_and_audited(db, phone, send_next, api):
    send_next()
    phone.text("n 3 5 6 2 4")
    download = api.post(f"{STUDY}/exports", json={"wide": True})
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.headers["Cache-Control"] == "no-store"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    download.close()
    assert "ai-connection/datapackage.json" in names
    assert "ai-connection/responses_wide_momentary.csv" in names
    (event,) = _audit(db, "study.exported")
    assert event.actor == "owner@example.org" and event.details["format"] == "csv"
    assert event.details["via"] == "api"
    assert event.user_id is not None

    parquet = api.post(f"{STUDY}/exports", json={"format": "parquet", "wide": False})
    names = zipfile.ZipFile(io.BytesIO(parquet.data)).namelist()
    parquet.close()
    assert "ai-connection/prompts.parquet" in names
    assert "ai-connection/responses_wide_momentary.parquet" not in names
    refused = api.post(f"{STUDY}/exports", json={"format": "xlsx"})
    assert refused.status_code == 422 and "format" in refused.get_json()["errors"]["json"]
    assert len(_audit(db, "study.exported")) == 2
