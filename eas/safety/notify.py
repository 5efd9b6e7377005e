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
from datetime import datetime, timedelta
from email.message import EmailMessage

import sqlalchemy as sa

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

    @classmethod
    def from_config(cls, config) -> Mailer | None:
        recipients = tuple(
            address.strip()
            for address in (config.get("EAS_ALERT_EMAILS") or "").split(",")
            if address.strip()
        )
        if not recipients or not config.get("EAS_SMTP_HOST"):
            return None
        return cls(
            host=config["EAS_SMTP_HOST"],
            port=int(config.get("EAS_SMTP_PORT") or 25),
            sender=config.get("EAS_SMTP_FROM") or "eas@localhost",
            recipients=recipients,
            user=config.get("EAS_SMTP_USER"),
            password=config.get("EAS_SMTP_PASSWORD"),
            starttls=str(config.get("EAS_SMTP_STARTTLS", "")).lower() in ("1", "true", "yes"),
        )

    def send(self, subject: str, body: str) -> None:
        message = EmailMessage()
        message["Subject"], message["From"] = subject, self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


def compose(alert: SafetyAlert, study: Study, label: str) -> tuple[str, str]:
    subject = f"[eas] Safety alert '{alert.rule}' for participant {label} ({study.slug})"
    trigger = "a keyword in their text" if alert.trigger == "keyword" else "the alert's rule"
    body = (
        f"Participant {label} of study {study.slug} set off the safety alert '{alert.rule}' "
        f"({trigger}, by {alert.channel}) at {alert.raised_at:%Y-%m-%d %H:%M} UTC.\n\n"
        "The protocol's reply was sent to them. Please follow the study's safety procedure, "
        "then acknowledge the alert:\n\n"
        f"    eas alerts ack {study.slug} {alert.id} --by YOUR-NAME\n\n"
        "It stays open until acknowledged. This mail contains no phone number and no answer.\n"
    )
    return subject, body


def notify_due(mailer: Mailer, now: datetime) -> tuple[int, int]:
    """Mail every open alert whose notification is due; (sent, failed). Commits per alert."""
    due = db.session.execute(
        sa.select(SafetyAlert, Study, Participant.label)
        .join(Study, Study.id == SafetyAlert.study_id)
        .join(Participant, Participant.id == SafetyAlert.participant_id)
        .where(
            SafetyAlert.status == AlertStatus.open,
            SafetyAlert.notified_at.is_(None),
            SafetyAlert.next_notify_at <= now,
        )
        .order_by(SafetyAlert.id)
    ).all()
    db.session.commit()  # no transaction held while talking to the mail server
    sent = failed = 0
    for alert, study, label in due:
        try:
            mailer.send(*compose(alert, study, label))
        except (OSError, smtplib.SMTPException) as error:
            alert.notify_attempts += 1
            alert.next_notify_at = now + min(
                timedelta(minutes=2 ** (alert.notify_attempts - 1)), _BACKOFF_MAX
            )
            alert.last_error = f"{type(error).__name__}: {error}"[:300]
            log.warning(
                "alert %s: notifying failed (%s); retry at %s",
                alert.id, alert.last_error, alert.next_notify_at,
            )  # fmt: skip
            failed += 1
        else:
            alert.notify_attempts += 1
            alert.notified_at = now
            alert.last_error = None
            sent += 1
        db.session.commit()
    return sent, failed
