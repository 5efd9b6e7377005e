"""Issue 25, rough edges of the dashboard's pages, read in their HTML: who is signed in, a
confirmation before taking someone off a study (checked by the server), the heatmap's rows
linking to participants, dates kept on one line, and sentences that read as English."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.participants.lifecycle import pause
from eas.users.models import StudyRole
from eas.users.operations import role_in
from tests.helpers import DEMO_PROTOCOL, sign_in
from tests.web.helpers import post, text

STUDY = "/studies/ai-connection"
TEAM = f"{STUDY}/team"

# Who is signed in -----------------------------------------------------------------------------


def test_the_header_says_who_is_signed_in_beside_sign_out(client, participant, make_user):
    assert "Signed in as" not in text(client.get("/login"))
    make_user(study=participant.study)
    sign_in(client)
    page = text(client.get(STUDY))
    header = page[page.index('<header class="top">') : page.index("</header>")]
    account = header[header.index('<div class="account">') :]
    assert "Signed in as <strong>Coordinator</strong>" in account
    assert "(coord@example.org)" in account
    assert '<form method="post" action="/logout" class="logout">' in account
    assert '<button type="submit">Sign out</button>' in account


# Taking someone off a study asks first --------------------------------------------------------


def _owner_and_colleague(participant, make_user):
    owner = make_user("owner@example.org", study=participant.study, role="owner")
    colleague = make_user("colleague@example.org", study=participant.study, role="viewer")
    return owner, colleague


def test_take_off_the_study_asks_first_and_the_server_requires_the_answer(
    db, client, participant, make_user
):
    _, colleague = _owner_and_colleague(participant, make_user)
    sign_in(client, "owner@example.org")
    path = f"{TEAM}/{colleague.id}/remove"
    asked = post(client, path)
    page = text(asked)
    assert asked.status_code == 200
    assert "Take Coordinator off the study?" in page
    assert "colleague@example.org, viewer" in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    assert f'href="{TEAM}">No, keep them on it</a>' in page
    assert role_in(colleague, participant.study.id) is StudyRole.viewer
    revoked = sa.select(AuditEvent).where(AuditEvent.action == "user.revoked")
    assert db.session.scalars(revoked).all() == []
    # Anything but confirm=yes asks again; confirm=yes takes them off.
    assert post(client, path, {"confirm": "on"}).status_code == 200
    assert role_in(colleague, participant.study.id) is StudyRole.viewer
    done = post(client, path, {"confirm": "yes"})
    assert done.status_code == 303 and done.location.endswith(TEAM)
    assert role_in(colleague, participant.study.id) is None
    assert "colleague@example.org is no longer on this study." in text(client.get(TEAM))


def test_the_only_owner_is_refused_before_the_question(db, client, participant, make_user):
    owner, _ = _owner_and_colleague(participant, make_user)
    sign_in(client, "owner@example.org")
    refused = post(client, f"{TEAM}/{owner.id}/remove")
    assert refused.status_code == 409 and "only owner" in text(refused)
    assert 'name="confirm"' not in text(refused)
    assert role_in(owner, participant.study.id) is StudyRole.owner


def test_taking_oneself_off_says_so(db, client, participant, make_user):
    _owner_and_colleague(participant, make_user)
    second = make_user("second@example.org", study=participant.study, role="owner")
    sign_in(client, second.email)
    page = text(post(client, f"{TEAM}/{second.id}/remove"))
    assert "Take yourself off the study?" in page
    assert "You (second@example.org, owner) will no longer see" in page
    assert "Yes, take me off the study" in page


# The heatmap ---------------------------------------------------------------------------------


def test_heatmap_rows_link_to_their_participant_and_cells_are_bigger(
    db, client, phone, participant, send_next, make_user
):
    send_next()
    phone.text("n 3 5 6 2 4")
    make_user(study=participant.study)
    sign_in(client)
    page = text(client.get(STUDY))
    rows = page[page.index('<svg class="heatmap-rows"') :]
    rows = rows[: rows.index("</svg>")]
    assert f'<a href="{STUDY}/participants/P1" aria-label="P1">' in rows
    # The image holds no links (an image's content is not read as links).
    image = page[page.index('<svg role="img"') :]
    assert "<a " not in image[: image.index("</svg>")]
    cell = re.search(r'<rect x="0" y="\d+" width="(\d+)" height="(\d+)" fill="#', page)
    assert cell and int(cell.group(1)) >= 24 and int(cell.group(2)) >= 24


# Dates on one line ---------------------------------------------------------------------------


def test_dates_and_times_in_tables_do_not_wrap(db, client, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    person = text(client.get(f"{STUDY}/participants/P1"))
    assert re.search(r'<td class="when">\w{3} \d\d \w{3} \d\d:\d\d E[DS]T</td>', person)
    listing = text(client.get(f"{STUDY}/participants"))
    assert '<td class="when">2026-03-19</td>' in listing
    audit = text(client.get(f"{STUDY}/audit"))
    assert re.search(r'<td class="when">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>', audit)
    with client.get("/static/eas.css") as response:
        css = text(response)
    assert "td.when, th.when, time { white-space: nowrap; }" in css


# Sentences -----------------------------------------------------------------------------------

BROKEN = DEMO_PROTOCOL.read_text().replace("  duration_days: 14\n", "  duration_days: fourteen\n")


def test_a_pasted_protocol_is_named_as_a_sentence_needs(db, client, make_user):
    make_user(admin=True)
    sign_in(client)
    broken = text(post(client, "/studies/new", {"source": BROKEN, "action": "check"}))
    assert "1 problem in the text pasted in the browser: nothing was saved" in broken
    assert "Where the problems are in the text pasted in the browser" in broken
    assert " in pasted in the browser" not in broken
    demo = DEMO_PROTOCOL.read_text()
    valid = text(post(client, "/studies/new", {"source": demo, "action": "check"}))
    assert "The text pasted in the browser is valid" in valid
    created = post(client, "/studies/new", {"source": demo, "action": "publish"})
    overview = text(client.get(created.location))
    assert "created from the text pasted in the browser (version 1)" in overview
    assert "(from the text pasted in the browser," in overview
    version = text(client.get(f"{STUDY}/protocol/versions/1"))
    assert "From the text pasted in the browser, published" in version


def test_an_open_ended_pause_reads_until_resumed(db, client, clock, participant, make_user):
    make_user(study=participant.study)
    pause(participant, clock.now(), until=None, reason="flu", actor="test")
    clock.advance(timedelta(hours=1))
    db.session.commit()
    sign_in(client)
    page = text(client.get(f"{STUDY}/participants/P1"))
    assert "until resumed (flu)" in page and "to until" not in page
