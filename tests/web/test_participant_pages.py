"""Participants in the browser: enrolling by form and by CSV (every bad row named, nobody
enrolled unless all are good), one participant's prompts, answers and texts (escaped), and
pause, resume, time-zone change and withdrawal, each audited with who did it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.participants.models import Participant, ParticipantStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.helpers import sign_in
from tests.surveys.helpers import Answerer
from tests.web.helpers import post, text

PEOPLE = "/studies/ai-connection/participants"


def _count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Participant))


def test_one_participant_enrolled_by_the_form(db, client, make_user, study):
    make_user(study=study)
    sign_in(client)
    bad = post(client, PEOPLE, {"label": "P7", "phone": "555", "timezone": "Mars/Olympus"})
    page = text(bad)
    assert bad.status_code == 422 and "Nobody was enrolled" in page
    assert 'id="f-phone"' in page and 'aria-describedby="e-phone"' in page
    assert "&#39;Mars/Olympus&#39; is not an IANA time zone" in page
    assert 'value="P7"' in page  # what was typed stays in the form
    assert _count(db) == 0

    good = post(
        client,
        PEOPLE,
        {"label": "P7", "phone": "+1 202 555 0107", "timezone": "America/Chicago", "wake": "08:00"},
    )
    assert good.status_code == 303 and good.location.endswith(f"{PEOPLE}/P7")
    person = db.session.scalar(sa.select(Participant))
    assert person.timezone == "America/Chicago" and person.wake_time.hour == 8
    page = text(client.get(good.location))
    assert "P7 enrolled;" in page and "+1202" not in page and "0107" not in page
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "participants.imported")
    )
    assert event.actor == "coord@example.org" and event.details["labels"] == ["P7"]


def test_a_csv_with_bad_rows_names_each_and_enrols_nobody(db, client, make_user, study):
    make_user(study=study)
    sign_in(client)
    csv_text = (
        "label,phone,timezone\n"
        "A1,+12025550111,America/New_York\n"
        "A2,not a number,America/New_York\n"
        "A3,+12025550113,Europe/Nowhere\n"
    )
    upload = {"file": (io.BytesIO(csv_text.encode()), "wave1.csv")}
    refused = post(client, f"{PEOPLE}/import", upload, content_type="multipart/form-data")
    page = text(refused)
    assert refused.status_code == 422
    assert "wave1.csv: 2 problems; nobody was enrolled" in page
    assert "<tr><td>3</td><td>phone</td>" in page and "<tr><td>4</td><td>timezone</td>" in page
    assert _count(db) == 0

    fixed = csv_text.replace("not a number", "+12025550112").replace(
        "Europe/Nowhere", "Europe/Paris"
    )
    upload = {"file": (io.BytesIO(fixed.encode()), "wave1.csv")}
    done = post(client, f"{PEOPLE}/import", upload, content_type="multipart/form-data")
    assert done.status_code == 303
    assert "wave1.csv: enrolled 3 participant(s)" in text(client.get(PEOPLE))
    assert _count(db) == 3

    latin1 = {"file": (io.BytesIO("label\nJosé\n".encode("latin-1")), "old.csv")}
    page = text(post(client, f"{PEOPLE}/import", latin1, content_type="multipart/form-data"))
    assert "not UTF-8 text" in page


def test_the_participant_page_shows_prompts_answers_and_texts_escaped(
    db, client, clock, phone, participant, send_next, diary, make_user
):
    _, path = diary
    answerer = Answerer(client, path)
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_partner_compared": "no", "day_in_person": "no"})
    answerer.submit({"day_lonely": "3", "day_note": "<script>alert('hi')</script>"})
    phone.text("<b>bold</b> hello")
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    page = text(client.get(f"{PEOPLE}/P1"))
    assert "<script>alert" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; hello" in page
    assert '<span class="item-id">day_lonely</span> 3' in page
    assert "<td>completed</td>" in page and re.search(r"Evening diary: http\S+/p/…</p>", page)
    assert path not in page  # the link's token would let a reader answer as P1
    assert "+1202" not in page
    assert "Withdraw" not in page  # a viewer only looks
    assert client.get(f"{PEOPLE}/nobody").status_code == 404


def test_pause_resume_move_and_withdraw_from_the_page(db, client, clock, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    here = f"{PEOPLE}/P1"
    until = (clock.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    paused = post(client, f"{here}/pause", {"until": until, "reason": "holiday"})
    assert paused.status_code == 303
    page = text(client.get(here))
    assert "P1: paused until Sat 21 Mar 2026 14:00 EDT; " in page  # as typed, their time
    assert "Sat 21 Mar 2026 14:00 EDT (holiday)" in page
    listed = text(client.get(PEOPLE))
    assert "<td>paused until Sat 21 Mar 2026 14:00 EDT</td>" in listed
    db.session.expire_all()
    assert len(participant.pauses) == 1 and participant.pauses[0].reason == "holiday"

    post(client, f"{here}/resume")
    db.session.expire_all()
    assert participant.pauses[0].ends_at == clock.now()

    wrong = post(client, f"{here}/timezone", {"timezone": "Atlantis/Capital"})
    assert wrong.status_code == 303
    assert "Nothing changed: &#39;Atlantis/Capital&#39; is not an IANA time zone." in text(
        client.get(here)
    )
    post(client, f"{here}/timezone", {"timezone": "Europe/Berlin"})
    db.session.expire_all()
    assert participant.timezone == "Europe/Berlin"

    unconfirmed = post(client, f"{here}/withdraw", {"reason": "asked to"})
    assert "tick the box to confirm" in text(client.get(unconfirmed.location))
    post(client, f"{here}/withdraw", {"reason": "asked to", "confirm": "yes"})
    db.session.expire_all()
    assert participant.status is ParticipantStatus.withdrawn
    future = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
    )
    assert future == 0
    actions = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.participant_id == participant.id
        )
    ).all()
    assert {a for a, actor in actions if actor == "coord@example.org"} == {
        "participant.paused",
        "participant.resumed",
        "participant.timezone_changed",
        "participant.withdrawn",
    }
    assert client.post(f"{here}/explode", data={}).status_code == 400  # no token
    assert post(client, f"{here}/explode").status_code == 404


def test_a_blank_form_or_a_label_that_cannot_be_a_page_is_refused(db, client, make_user, study):
    make_user(study=study)
    sign_in(client)
    blank = post(client, PEOPLE, {"label": " ", "phone": "", "timezone": ""})
    page = text(blank)
    assert blank.status_code == 422
    assert page.count("is required") == 6 and _count(db) == 0  # in the summary and the field
    for label in ("a/b", "..", ".hidden"):
        form = {"label": label, "phone": "+12025550107", "timezone": "America/Chicago"}
        refused = post(client, PEOPLE, form)
        assert refused.status_code == 422 and "may hold letters, digits" in text(refused)
    assert _count(db) == 0


def test_odd_numbers_in_addresses_are_not_found(db, client, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    huge = "9" * 30
    study = "/studies/ai-connection"
    assert client.get(f"{study}/protocol/versions/{huge}").status_code == 404
    assert client.get(f"{study}/protocol/compare?from={huge}&to=1").status_code == 404
    assert client.get(f"{study}/audit?before={huge}").status_code == 200
    assert post(client, f"{study}/alerts/{huge}/ack").status_code == 404
    far = post(client, f"{PEOPLE}/P1/pause", {"until": "9999-12-31T23:59"})
    assert "is not a date and time (2000-2100)" in text(client.get(far.location))


def test_the_text_thread_is_paged_and_in_the_participants_time(
    db, client, clock, participant, make_user, phone, monkeypatch
):
    import eas.web.monitoring

    for word in ("alpha", "bravo", "charlie"):
        phone.text(word)  # each answered too: six texts
    db.session.commit()
    make_user(study=participant.study)
    sign_in(client)
    monkeypatch.setattr(eas.web.monitoring, "THREAD_PAGE", 2)
    page = client.get("/studies/ai-connection/participants/P1").get_data(as_text=True)
    thread = page.split('id="thread-h"')[1]
    assert "charlie" in thread and "bravo" not in thread  # the latest two texts
    assert "EDT</time>" in thread and "UTC</time>" not in thread  # New York, in March
    older = re.search(r'href="\?texts_before=(\d+)#thread-h"', thread).group(1)
    before = client.get(f"/studies/ai-connection/participants/P1?texts_before={older}")
    assert "bravo" in before.get_data(as_text=True).split('id="thread-h"')[1]
