"""The distress alert reaches a coordinator end to end: raised by SMS or web, mailed after the
answer is committed, retried while the mail server fails, open until acknowledged."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.periodic import PeriodicWork
from eas.safety.models import AlertStatus, SafetyAlert
from eas.safety.notify import Mailer
from tests.surveys.helpers import Answerer


class FakeSMTP:
    """Stands in for smtplib.SMTP: records mails, or refuses while `down`."""

    sent: list = []
    down = False

    def __init__(self, host, port, timeout=None) -> None:
        if FakeSMTP.down:
            raise ConnectionRefusedError(111, "Connection refused")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def send_message(self, message) -> None:
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.down = [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


@pytest.fixture
def mailing_dispatcher(clock, provider):
    mailer = Mailer("mail.example.org", 25, "eas@example.org", ("oncall@example.org",))
    dispatcher = Dispatcher(
        provider, name="alerts", clock=clock, workers=1, periodic=PeriodicWork(mailer)
    )
    yield dispatcher
    dispatcher.close()


def _alerts(db) -> list[SafetyAlert]:
    db.session.expire_all()
    return db.session.scalars(sa.select(SafetyAlert).order_by(SafetyAlert.id)).all()


def test_a_distress_answer_by_sms_reaches_the_team_despite_a_failing_mail_server(
    db, clock, phone, participant, send_next, mailing_dispatcher, smtp
):
    send_next()
    phone.text("n 3 5 6")
    replies = phone.text("9")  # distress 9
    assert replies[0].startswith("Thank you for telling us.")
    (alert,) = _alerts(db)
    assert (alert.rule, alert.trigger, alert.channel) == ("high_distress", "rule", "sms")
    assert alert.status is AlertStatus.open and alert.notified_at is None

    smtp.down = True
    report = mailing_dispatcher.tick()
    assert (report.alerts_notified, report.alerts_failed) == (0, 1)
    (alert,) = _alerts(db)
    assert alert.notify_attempts == 1 and "Connection refused" in alert.last_error
    assert alert.next_notify_at == clock.now() + timedelta(minutes=1)
    assert mailing_dispatcher.tick().alerts_failed == 0  # not before its retry time

    smtp.down = False
    clock.advance(timedelta(minutes=1))
    assert mailing_dispatcher.tick().alerts_notified == 1
    (mail,) = smtp.sent
    assert mail["To"] == "oncall@example.org"
    assert "participant P1" in mail["Subject"] and "high_distress" in mail["Subject"]
    body = mail.get_content()
    assert f"eas alerts ack ai-connection {alert.number} --by YOUR-EMAIL --note" in body
    assert "+1202" not in body and "202555" not in body
    clock.advance(timedelta(hours=1))
    assert mailing_dispatcher.tick().alerts_notified == 0  # once
    (alert,) = _alerts(db)
    assert alert.notified_at is not None and alert.status is AlertStatus.open


def test_crisis_words_raise_an_alert_in_any_text(db, clock, phone, participant):
    clock.advance(timedelta(days=1, hours=5))  # no check-in open
    replies = phone.text("I want to die")
    assert replies[-1].startswith("We are here for you.")
    (alert,) = _alerts(db)
    assert (alert.rule, alert.trigger) == ("crisis_words", "keyword")


def test_an_alert_from_the_web_diary(db, client, diary):
    answerer = Answerer(client, diary[1])
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "8", "day_note": "honestly I want to die"})
    (alert,) = _alerts(db)
    assert (alert.rule, alert.channel, alert.prompt_id) == ("crisis_words", "web", diary[0].id)


def test_acknowledging_an_alert_is_audited_and_happens_once(
    db, runner, clock, phone, participant, make_user
):
    make_user("dr-lee@example.org", study=participant.study)
    make_user("x@example.org", study=participant.study)
    clock.advance(timedelta(days=1, hours=5))
    phone.text("I want to die")
    (alert,) = _alerts(db)
    listed = runner.invoke(args=["alerts", "list", "ai-connection"])
    assert f"{alert.number}\t" in listed.output and "OPEN" in listed.output
    ack = ["alerts", "ack", "ai-connection", str(alert.number), "--note", "called, safe"]
    done = runner.invoke(args=[*ack, "--by", "dr-lee@example.org"])
    assert done.exit_code == 0, done.output
    (alert,) = _alerts(db)
    assert alert.status is AlertStatus.acknowledged
    assert alert.acknowledged_by == "dr-lee@example.org"
    audit = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "alert.acknowledged")
    )
    assert audit.actor == "dr-lee@example.org" and audit.details["alert_id"] == alert.id
    again = runner.invoke(args=[*ack, "--by", "x@example.org"])
    assert again.exit_code == 1 and "was acknowledged by dr-lee@example.org" in again.output
    assert "no open alerts" in runner.invoke(args=["alerts", "list", "ai-connection"]).output


def _mailer(**extra) -> Mailer:
    return Mailer(
        "mail.example.org", 25, "eas@example.org", ("oncall@example.org",),
        backup=("backup@example.org",), **extra,
    )  # fmt: skip


def test_an_unacknowledged_alert_is_escalated_to_the_backup_once(
    db, clock, phone, participant, provider, smtp
):
    from datetime import time

    dispatcher = Dispatcher(
        provider, name="esc", clock=clock, workers=1,
        periodic=PeriodicWork(
            _mailer(escalate_after=timedelta(minutes=30), quiet_hours=(time(23), time(6)))
        ),
    )  # fmt: skip
    try:
        clock.advance(timedelta(days=1, hours=5))  # 15:00 New York, 19:00 UTC: not quiet
        phone.text("I want to die")
        dispatcher.tick()
        assert [m["To"] for m in smtp.sent] == ["oncall@example.org"]
        clock.advance(timedelta(minutes=29))
        dispatcher.tick()
        assert len(smtp.sent) == 1
        clock.advance(timedelta(minutes=2))
        dispatcher.tick()
        assert [m["To"] for m in smtp.sent] == ["oncall@example.org", "backup@example.org"]
        assert smtp.sent[1]["Subject"].startswith("[eas] ESCALATED: Safety alert")
        assert "nobody acknowledged it within 30 minutes" in smtp.sent[1].get_content()
        clock.advance(timedelta(hours=2))
        dispatcher.tick()
        assert len(smtp.sent) == 2
    finally:
        dispatcher.close()


def test_in_the_on_call_contacts_quiet_hours_the_backup_is_told_at_once(
    db, clock, phone, participant, provider, smtp
):
    from datetime import time

    dispatcher = Dispatcher(
        provider, name="quiet", clock=clock, workers=1,
        periodic=PeriodicWork(_mailer(quiet_hours=(time(22), time(7)), zone="America/New_York")),
    )  # fmt: skip
    try:
        clock.advance(timedelta(days=1, hours=13))  # 03:00 UTC: 23:00 in New York
        phone.text("I want to die")
        dispatcher.tick()
        assert [m["To"] for m in smtp.sent] == ["backup@example.org"]
        assert "the on-call contact is in quiet hours" in smtp.sent[0].get_content()
        (alert,) = _alerts(db)
        assert alert.notified_at is not None and alert.escalated_at is not None
    finally:
        dispatcher.close()
