"""Acknowledging an alert names an account that may act on the study (`--by`) and says what
was done (`--note`); both are kept with the alert and listed with `eas alerts list --all`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.safety.models import AlertStatus, SafetyAlert


@pytest.fixture
def alert(db, clock, phone, participant):
    clock.advance(timedelta(days=1, hours=5))
    phone.text("I want to die")
    return db.session.scalar(sa.select(SafetyAlert))


def _ack(runner, by: str, note: str | None = "called participant, safe"):
    args = ["alerts", "ack", "ai-connection", "1", "--by", by]
    return runner.invoke(args=[*args, "--note", note] if note is not None else args)


def test_by_must_name_an_active_account_that_may_act_on_the_study(
    db, runner, alert, participant, make_user, create_study
):
    refused = _ack(runner, "nobody@example.org")
    assert refused.exit_code == 1 and "no account 'nobody@example.org'" in refused.output
    make_user("viewer@example.org", study=participant.study, role="viewer")
    refused = _ack(runner, "viewer@example.org")
    assert refused.exit_code == 1
    assert "'viewer@example.org' is a viewer of this study" in refused.output
    make_user("elsewhere@example.org")
    refused = _ack(runner, "elsewhere@example.org")
    assert "'elsewhere@example.org' is not on this study's team" in refused.output
    gone = make_user("gone@example.org", study=participant.study)
    gone.is_active = False
    db.session.commit()
    assert "'gone@example.org' is deactivated" in _ack(runner, "gone@example.org").output
    db.session.expire_all()
    assert db.session.get(SafetyAlert, alert.id).status is AlertStatus.open

    make_user("Owner@Example.org", study=participant.study, role="owner")
    done = _ack(runner, "OWNER@example.org")
    assert done.exit_code == 0, done.output


def test_the_note_is_required_and_kept_with_who_and_when(
    db, runner, clock, alert, participant, make_user
):
    user = make_user("lee@example.org", study=participant.study)
    missing = _ack(runner, "lee@example.org", note=None)
    assert missing.exit_code == 2 and "--note" in missing.output
    blank = _ack(runner, "lee@example.org", note="   ")
    assert blank.exit_code == 1 and "say what was done" in blank.output
    done = _ack(runner, "lee@example.org", note="called participant,  safe")
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    kept = db.session.get(SafetyAlert, alert.id)
    assert (kept.acknowledged_by, kept.acknowledged_by_user_id) == ("lee@example.org", user.id)
    assert kept.acknowledged_note == "called participant, safe"
    assert kept.acknowledged_at == clock.now()
    listed = runner.invoke(args=["alerts", "list", "ai-connection", "--all"]).output
    assert "acknowledged by lee@example.org" in listed and "called participant, safe" in listed


def test_without_mail_the_list_says_nobody_was_told(db, runner, alert):
    listed = runner.invoke(args=["alerts", "list", "ai-connection"]).output
    assert "no e-mail configured: nobody was told" in listed
    assert "not yet" not in listed
