"""What the dispatcher's tests share: their protocol and reading what the dispatcher wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from eas.delivery.models import Message
from eas.scheduling.models import PlannedPrompt

PROTOCOL = """
study: {id: dispatch-test, title: Dispatch test, timezone: America/New_York, duration_days: 2}
questionnaires:
  - id: check_in
    intro: "Hi!"
    items:
      - {id: mood, type: scale, min: 0, max: 10, text: "How is your mood? 0=bad, 10=good"}
      - {id: note, type: text, text: "Anything else?"}
  - id: diary
    title: Evening diary
    items: [{id: day_story, type: text, text: "How was your day?"}]
schedules:
  - {id: morning, questionnaire: check_in, type: fixed, times: ["10:00"], channel: sms,
     expires_after_minutes: 30, reminders: [{after_minutes: 10}]}
  - {id: evening, questionnaire: diary, type: fixed, times: ["21:00"], channel: web,
     expires_after_minutes: 60}
"""
START = "2026-03-19"
FIRST_DUE = datetime(2026, 3, 19, 14, 0, tzinfo=UTC)  # 10:00 in New York (EDT)


def planned_prompt(db, schedule="morning", day=1) -> PlannedPrompt:
    db.session.expire_all()  # the dispatcher writes with guarded UPDATE statements
    return db.session.scalar(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.schedule_id == schedule, PlannedPrompt.study_day == day)
        .order_by(PlannedPrompt.revision.desc())
    )


def messages(db, **filters) -> list[Message]:
    query = sa.select(Message).order_by(Message.id)
    for name, value in filters.items():
        query = query.where(getattr(Message, name) == value)
    return db.session.scalars(query).all()
