"""Setting a study up in the browser: a protocol with an error is shown beside its line and
nothing is stored; fixed, it becomes a study with its creator as owner; a new version is
compared with the current one and published, and future prompts follow it."""

from __future__ import annotations

import io

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.studies.models import Study
from eas.users.models import StudyMembership, StudyRole
from tests.helpers import DEMO_PROTOCOL, sign_in
from tests.web.helpers import post, text

DEMO = DEMO_PROTOCOL.read_text()
#: The demo protocol made four days shorter (its closing questionnaire moved with it).
SHORTER = DEMO.replace("  duration_days: 14\n", "  duration_days: 10\n").replace(
    "    day: 14\n", "    day: 10\n"
)
BROKEN = DEMO.replace("  duration_days: 14\n", "  duration_days: fourteen\n")


def _line_of(source: str, fragment: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if fragment in line)


def test_a_protocol_error_is_shown_on_its_line_then_fixed_and_published(db, client, make_user):
    make_user(admin=True)
    sign_in(client)
    checked = post(client, "/studies/new", {"source": BROKEN, "action": "check"})
    page = text(checked)
    line = _line_of(BROKEN, "duration_days: fourteen")
    assert checked.status_code == 200
    assert f'href="#L{line}">line {line}, column 18</a> (study.duration_days)' in page
    assert f'<tr id="L{line}" class="error-line">' in page
    assert "nothing was saved" in page and "Create the study" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Study)) == 0

    # Publishing a broken text directly is refused just the same.
    post(client, "/studies/new", {"source": BROKEN, "action": "publish"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Study)) == 0

    fixed = text(post(client, "/studies/new", {"source": DEMO, "action": "check"}))
    assert "is valid" in fixed and "prompts a day" in fixed and "Create the study" in fixed
    created = post(client, "/studies/new", {"source": DEMO, "action": "publish"})
    assert created.status_code == 303 and created.location.endswith("/studies/ai-connection")
    study = db.session.scalar(sa.select(Study))
    membership = db.session.scalar(sa.select(StudyMembership))
    assert study.current_version.source_text == DEMO
    assert membership.study_id == study.id and membership.role is StudyRole.owner
    assert "Study ai-connection created" in text(client.get(created.location))


def test_an_uploaded_file_is_checked_and_its_name_kept(db, client, make_user):
    make_user(admin=True)
    sign_in(client)
    upload = {"upload": (io.BytesIO(BROKEN.encode()), "my-study.yaml"), "action": "check"}
    page = text(post(client, "/studies/new", upload, content_type="multipart/form-data"))
    assert "problem in my-study.yaml" in page
    assert "duration_days: fourteen</textarea>" not in page  # the text is editable in the box
    assert "  duration_days: fourteen" in page

    not_text = {"upload": (io.BytesIO(b"\xff\xfe\x00bad"), "x.yaml"), "action": "check"}
    page = text(post(client, "/studies/new", not_text, content_type="multipart/form-data"))
    assert "not UTF-8 text" in page


def test_a_taken_study_id_is_refused(db, client, make_user, study):
    make_user(admin=True)  # not on the existing study
    sign_in(client)
    page = text(post(client, "/studies/new", {"source": DEMO, "action": "publish"}))
    assert "a study with the id &#39;ai-connection&#39; exists already" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StudyMembership)) == 0


def test_a_new_version_is_compared_previewed_and_published(db, client, make_user, participant):
    study = participant.study
    make_user(study=study, role="owner")
    sign_in(client)
    changed = SHORTER
    page = text(post(client, "/studies/ai-connection/protocol", {"source": changed}))
    assert '<tr class="removed"><td>' in page and "-   duration_days: 14" in page
    assert "+   duration_days: 10" in page and "Publish as version 2" in page
    assert study.current_version.number == 1  # checking stores nothing

    published = post(
        client, "/studies/ai-connection/protocol", {"source": changed, "action": "publish"}
    )
    assert published.status_code == 303
    db.session.expire_all()
    assert study.current_version.number == 2
    last_day = db.session.scalar(
        sa.select(sa.func.max(PlannedPrompt.study_day)).where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
    )
    assert last_day == 10
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "study.version_published")
    )
    assert event.actor == "coord@example.org" and event.details["version"] == 2

    compare = text(client.get("/studies/ai-connection/protocol/compare?from=1&to=2"))
    assert "-   duration_days: 14" in compare and "+   duration_days: 10" in compare
    version = text(client.get("/studies/ai-connection/protocol/versions/1"))
    assert "duration_days: 14" in version
    assert client.get("/studies/ai-connection/protocol/versions/9").status_code == 404


def test_a_protocol_for_another_study_is_not_published_here(db, client, make_user, study):
    make_user(study=study, role="owner")
    sign_in(client)
    other = DEMO.replace("  id: ai-connection\n", "  id: other-study\n")
    page = text(
        post(client, "/studies/ai-connection/protocol", {"source": other, "action": "publish"})
    )
    assert (
        "this protocol is for the study &#39;other-study&#39;, not &#39;ai-connection&#39;" in page
    )
    db.session.expire_all()
    assert study.current_version.number == 1


def test_coordinators_check_but_only_owners_publish(db, client, make_user, study):
    make_user(study=study, role="coordinator")
    sign_in(client)
    page = text(client.get("/studies/ai-connection/protocol"))
    assert "Only the study's owners can publish." in page
    checked = text(post(client, "/studies/ai-connection/protocol", {"source": SHORTER}))
    assert "+   duration_days: 10" in checked and "Publish as version" not in checked
    changed = SHORTER
    refused = post(
        client, "/studies/ai-connection/protocol", {"source": changed, "action": "publish"}
    )
    assert refused.status_code == 404
    db.session.expire_all()
    assert study.current_version.number == 1


def test_only_administrators_and_owners_start_studies(db, client, make_user, study):
    make_user(study=study, role="viewer")
    sign_in(client)
    assert "Set up a new study" not in text(client.get("/"))
    assert client.get("/studies/new").status_code == 404
    assert post(client, "/studies/new", {"source": DEMO, "action": "check"}).status_code == 404
    make_user("owner@example.org", study=study, role="owner")
    sign_in(client, "owner@example.org")
    assert "Set up a new study" in text(client.get("/"))
    assert client.get("/studies/new").status_code == 200


def test_viewers_see_the_versions_but_no_form(db, client, make_user, study):
    make_user(study=study, role="viewer")
    sign_in(client)
    page = text(client.get("/studies/ai-connection/protocol"))
    assert "protocol/versions/1" in page and "<textarea" not in page


def test_the_preview_starts_when_the_protocol_says(app, clock):
    """A protocol with `start: same_day` is previewed from today, not "starting tomorrow"."""
    from eas.protocols.validation import validate_protocol_file
    from eas.web.protocol_pages import schedule_preview
    from tests.helpers import DEMO_PROTOCOL

    definition = validate_protocol_file(DEMO_PROTOCOL).definition
    assert schedule_preview(definition, clock.now()).starts == "tomorrow"
    same_day = {**definition, "study": {**definition["study"], "start": "same_day"}}
    preview = schedule_preview(same_day, clock.now())
    assert preview.starts == "today"
    assert preview.days[0].local_date == clock.now().date()


def test_a_new_version_starts_from_the_current_text_which_downloads_as_yaml(
    db, client, study, make_user
):
    make_user(study=study, role="owner")
    sign_in(client)
    page = client.get("/studies/ai-connection/protocol").get_data(as_text=True)
    box = page.split('<textarea id="source"')[1].split("</textarea>")[0]
    assert "duration_days: 14" in box  # the current version, ready to edit
    with client.get("/studies/ai-connection/protocol/versions/1.yaml") as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == (
            'attachment; filename="ai-connection-v1.yaml"'
        )
        assert download.get_data(as_text=True) == study.current_version.source_text


def test_the_preview_warns_of_a_window_outside_the_default_waking_day(app, clock):
    """A schedule's own window takes the place of wake and sleep: the preview says so."""
    from eas.protocols.validation import validate_protocol_file
    from eas.web.protocol_pages import schedule_preview
    from tests.helpers import DEMO_PROTOCOL

    definition = validate_protocol_file(DEMO_PROTOCOL).definition
    beeps = next(s for s in definition["schedules"] if s["type"] == "random")
    late = {**beeps, "id": "late", "per_day": 1, "min_gap_minutes": 10}
    late["window"] = {"start": "23:00", "end": "23:45"}
    with app.test_request_context():
        burden = app.jinja_env.get_template("_protocol.html").module.burden
        plain = str(burden(schedule_preview(definition, clock.now())))
        warned = str(burden(schedule_preview({**definition, "schedules": [late]}, clock.now())))
    assert "Warning:" not in plain
    assert "Warning: schedule &#39;late&#39;" in warned and "23:00-23:45" in warned


def test_a_valid_protocol_shows_its_warnings_and_its_burden_per_active_day(db, client, make_user):
    """Prompts closer together than they stay open are valid but probably not meant: the page
    says so with line and column, and still offers to create the study."""
    source = DEMO.replace("    min_gap_minutes: 90\n", "    min_gap_minutes: 30\n")
    make_user(admin=True)
    sign_in(client)
    page = text(post(client, "/studies/new", {"source": source, "action": "check"}))
    line = _line_of(source, "min_gap_minutes: 30")
    assert "1 warning: valid, but check that this is what you mean" in page
    assert f"line {line}, column 22 (schedules[0].min_gap_minutes): prompts may come 30" in page
    assert "Create the study" in page
    assert "on each of the 14 days with prompts (of 14)" in page
