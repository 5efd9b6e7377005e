"""Telling coordinators about alerts, by e-mail through the configured SMTP server.

Runs in the dispatcher's tick, after the answer that raised an alert was committed. A failing
mail server never loses an alert: it stays open and pending, is tried again with backoff (1, 2,
4... up to 30 minutes), and `eas alerts list` shows it meanwhile. Mails name the participant
by their pseudonymous label only: no phone number, no answer text.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from eas.core.db import db
from eas.participants.models import Participant
from eas.safety.models import AlertStatus, SafetyAlert
from eas.studies.models import Study

log = logging.getLogger("eas.safety")
_BACKOFF_MAX = timedelta(minutes=30)


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 20
    #: Who is told when the on-call contact is in quiet hours or does not acknowledge in time.
    backup: tuple[str, ...] = ()
    quiet_hours: tuple[time, time] | None = None
    zone: str = "UTC"
    escalate_after: timedelta = timedelta(minutes=60)

    def in_quiet_hours(self, now: datetime) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        moment = now.astimezone(ZoneInfo(self.zone)).time()
        return start <= moment < end if start < end else moment >= start or moment < end

    @classmethod
    def from_config(cls, config) -> Mailer | None:
        recipients = _addresses(config.get("EAS_ALERT_EMAILS"))
        if not recipients or not config.get("EAS_SMTP_HOST"):
            return None
        quiet = config.get("EAS_ALERT_QUIET_HOURS")
        if quiet:
            start, _, end = quiet.partition("-")
            quiet = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
        return cls(
            backup=_addresses(config.get("EAS_ALERT_BACKUP_EMAILS")),
            quiet_hours=quiet or None,
            zone=config.get("EAS_ALERT_TIMEZONE") or "UTC",
            escalate_after=timedelta(minutes=int(config.get("EAS_ALERT_ESCALATE_MINUTES") or 60)),
            host=config["EAS_SMTP_HOST"],
            port=int(config.get("EAS_SMTP_PORT") or 25),
            sender=config.get("EAS_SMTP_FROM") or "eas@localhost",
            recipients=recipients,
            user=config.get("EAS_SMTP_USER"),
            password=config.get("EAS_SMTP_PASSWORD"),
            starttls=str(config.get("EAS_SMTP_STARTTLS", "")).lower() in ("1", "true", "yes"),
        )

    def send(self, subject: str, body: str, to: tuple[str, ...] | None = None) -> None:
        message = EmailMessage()
        message["Subject"], message["From"] = subject, self.sender
        message["To"] = ", ".join(to or self.recipients)
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def _addresses(text: str | None) -> tuple[str, ...]:
    return tuple(address.strip() for address in (text or "").split(",") if address.strip())


def mail_configured() -> bool:
    """Whether alerts are mailed at all (EAS_ALERT_EMAILS and EAS_SMTP_HOST set)."""
    return Mailer.from_config(current_app.config) is not None


def team_told(alert: SafetyAlert, mail: bool, *, check: str = "check this page") -> str:
    """Whether the team was told of `alert`, as it is: `mail`, whether mail is configured."""
    if alert.notified_at is not None:
        return f"mailed {alert.notified_at:%Y-%m-%d %H:%M} UTC"
    if not mail:
        return f"no e-mail configured: nobody was told; {check}"
    if alert.last_error:
        return f"not mailed yet ({alert.notify_attempts} tries failed: {alert.last_error})"
    return "not mailed yet (the dispatcher mails it within a minute)"


def compose(
    alert: SafetyAlert, study: Study, label: str, escalation: str | None = None
) -> tuple[str, str]:
    subject = f"[eas] Safety alert '{alert.rule}' for participant {label} ({study.slug})"
    if escalation:
        subject = f"[eas] ESCALATED: {subject.removeprefix('[eas] ')}"
    trigger = "a keyword in their text" if alert.trigger == "keyword" else "the alert's rule"
    body = (
        f"Participant {label} of study {study.slug} set off the safety alert '{alert.rule}' "
        f"({trigger}, by {alert.channel}) at {alert.raised_at:%Y-%m-%d %H:%M} UTC.\n\n"
        "The protocol's reply was sent to them. Please follow the study's safety procedure, "
        "then acknowledge the alert:\n\n"
        f"    eas alerts ack {study.slug} {alert.number} --by YOUR-EMAIL --note 'WHAT YOU DID'\n\n"
        "It stays open until acknowledged. This mail contains no phone number and no answer.\n"
    )
    if escalation:
        body = f"You are the backup contact: {escalation}.\n\n{body}"
    return subject, body


def notify_due(mailer: Mailer, now: datetime) -> tuple[int, int]:
    """Mail every open alert whose notification is due, and escalate those the on-call
    contact has not acknowledged in time; (sent, failed). Commits per alert."""
    first = db.session.execute(_open_alerts(now).where(SafetyAlert.notified_at.is_(None))).all()
    late = []
    if mailer.backup:
        late = db.session.execute(
            _open_alerts(now).where(
                SafetyAlert.escalated_at.is_(None),
                SafetyAlert.notified_at <= now - mailer.escalate_after,
            )
        ).all()
    db.session.commit()  # no transaction held while talking to the mail server
    sent = failed = 0
    quiet = mailer.in_quiet_hours(now) and bool(mailer.backup)
    for alert, study, label in first:
        reason = "the on-call contact is in quiet hours" if quiet else None
        ok = _try(
            mailer,
            alert,
            compose(alert, study, label, reason),
            mailer.backup if quiet else None,
            now,
        )
        if ok:
            alert.notified_at = now
            alert.escalated_at = now if quiet else None
        sent, failed = sent + ok, failed + (not ok)
        db.session.commit()
    minutes = int(mailer.escalate_after.total_seconds() // 60)
    for alert, study, label in late:
        reason = f"nobody acknowledged it within {minutes} minutes"
        ok = _try(mailer, alert, compose(alert, study, label, reason), mailer.backup, now)
        if ok:
            alert.escalated_at = now
        sent, failed = sent + ok, failed + (not ok)
        db.session.commit()
    return sent, failed


def _open_alerts(now: datetime) -> sa.Select:
    return (
        sa.select(SafetyAlert, Study, Participant.label)
        .join(Study, Study.id == SafetyAlert.study_id)
        .join(Participant, Participant.id == SafetyAlert.participant_id)
        .where(SafetyAlert.status == AlertStatus.open, SafetyAlert.next_notify_at <= now)
        .order_by(SafetyAlert.id)
    )


def _try(mailer: Mailer, alert: SafetyAlert, mail: tuple[str, str], to, now: datetime) -> bool:
    alert.notify_attempts += 1
    try:
        mailer.send(*mail, to=to)
    except (OSError, smtplib.SMTPException) as error:
        alert.next_notify_at = now + min(
            timedelta(minutes=2 ** (alert.notify_attempts - 1)), _BACKOFF_MAX
        )
        alert.last_error = f"{type(error).__name__}: {error}"[:300]
        log.warning(
            "alert %s: notifying failed (%s); retry at %s",
            alert.id, alert.last_error, alert.next_notify_at,
        )  # fmt: skip
        return False
    alert.last_error = None
    return True
