"""Monitoring: today's prompts in each participant's own day, delivery failures, who is below
the compliance threshold, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.delivery.channels import SendError
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.helpers import sign_in
from tests.web.helpers import post, text

STUDY = "/studies/ai-connection"


def _first_prompts(db, participant, count: int) -> list[PlannedPrompt]:
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(PlannedPrompt.due_at)
        .limit(count)
    ).all()


def test_today_failures_and_falling_behind(
    db, client, clock, participant, dispatcher, provider, make_user
):
    provider.fail = lambda message: SendError("invalid To number", code=21211, retryable=False)
    for prompt in _first_prompts(db, participant, 3):
        clock.set(prompt.due_at + timedelta(seconds=1))
        dispatcher.tick()
    db.session.expire_all()
    assert {p.status for p in _first_prompts(db, participant, 3)} == {PromptStatus.failed}

    make_user(study=participant.study, role="viewer")
    sign_in(client)
    page = text(client.get(f"{STUDY}/today"))
    # P1's local day (New York), with the three failed prompts and those still to come.
    assert "failed" in page and "not sent" in page
    assert page.count('<tr class="status-failed">') == 3
    assert "EDT</td><td>beeps</td>" in page or "EDT</td><td>intake</td>" in page
    failures = page.split('id="failures-h"')[1].split('id="behind-h"')[0]
    assert failures.count("<td>21211</td>") == 3
    behind = page.split('id="behind-h"')[1]
    assert '<tr class="low">' in behind and "0 / 3 (0%)" in behind and "never" in behind
    stricter = text(client.get(f"{STUDY}/today?threshold=abc"))  # a bad value: the default
    assert "Below 60% compliance" in stricter


def test_nobody_is_judged_on_too_few_prompts(db, client, clock, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    page = text(client.get(f"{STUDY}/today?threshold=90"))
    assert "Below 90% compliance" in page
    assert '<tr class="low">' not in page.split('id="behind-h"')[1]


def test_the_audit_log_says_who_did_what(db, client, clock, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    post(client, f"{STUDY}/participants/P1/pause", {"reason": "flu"})
    page = text(client.get(f"{STUDY}/audit"))
    assert "<td>coord@example.org</td><td>participant.paused</td>\n    <td>P1</td>" in page
    assert "reason: flu" in page
    assert "<td>test</td><td>participants.imported</td>" in page
    assert "Older entries" not in page


def test_a_long_e_mail_address_is_audited_whole(db, client, participant, make_user):
    email = "a.very.long.name.of.a.research.coordinator@psychology-department.example.edu"
    make_user(email, study=participant.study)
    sign_in(client, email)
    post(client, f"{STUDY}/participants/P1/pause", {"reason": "flu"})
    assert f"<td>{email}</td><td>participant.paused</td>" in text(client.get(f"{STUDY}/audit"))


def test_the_audit_log_is_newest_first_by_when_things_happened(
    db, client, clock, participant, make_user
):
    """An event written later about an earlier moment (a simulated history, say) takes its
    place in time; an export's entry gives each table's row count."""
    from eas.audit.operations import record

    make_user(study=participant.study)
    record("study.exported", actor="later", study_id=participant.study_id,
           rows={"prompts": 12, "responses": 40}, format="csv")  # fmt: skip
    db.session.flush()
    clock.advance(timedelta(days=-3))
    record("history.added", actor="earlier", study_id=participant.study_id)
    db.session.commit()
    sign_in(client)
    page = text(client.get(f"{STUDY}/audit"))
    assert page.index("<td>later</td>") < page.index("<td>earlier</td>")
    assert "rows: prompts 12, responses 40" in page


def test_today_lists_prompts_by_the_local_times_it_shows(
    db, client, clock, study, enroll_csv, make_user
):
    from eas.web.monitoring import todays_prompts

    enroll_csv(
        study,
        "label,phone,timezone,start_date\n"
        "NY,+12025550111,America/New_York,2026-03-18\n"
        "LA,+13105550112,America/Los_Angeles,2026-03-18\n",
    )
    shown = [view.local_due.replace(tzinfo=None) for view in todays_prompts(study, clock.now())]
    assert shown and shown == sorted(shown)
    assert {view.label for view in todays_prompts(study, clock.now())} == {"NY", "LA"}
