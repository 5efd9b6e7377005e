"""A study whose check-in branches on the prompt's place in the day and pipes earlier answers
(issue 22), shared by the SMS, web and context tests."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.scheduling.models import PlannedPrompt
from tests.helpers import PHONE

#: Two check-ins a day (10:00 and 20:00 in New York: beeps 1 and 2, the second the day's last
#: and after 18:00) and a report texted with AI. `{channel}`: the check-ins' channel;
#: `{privacy}`: whether the study seals free text.
PROTOCOL = """
study:
  id: context-test
  title: Context test
  timezone: America/New_York
  duration_days: 3
  privacy: {{encrypt_free_text: {privacy}}}
participant_defaults: {{wake: "08:00", sleep: "23:00", channel: sms}}
questionnaires:
  - id: checkin
    title: Check-in
    intro: {{web: "Hello again. Your last report: {{ai_topic|none yet}}."}}
    thanks: "Thanks!"
    items:
      - {{id: mood, type: scale, min: 0, max: 10, text: "How is your mood?"}}
      - id: topic
        type: choice
        text: "What was on your mind?"
        options: [{{value: work, label: Work stuff}}, {{value: love, label: Love life}}]
      - id: day_review
        type: yes_no
        show_if: "last_beep"
        text: "Last check-in today: still thinking about {{topic}}? Your mood was {{mood}}."
      - id: evening
        type: yes_no
        show_if: "local_time >= '18:00' and beep == 2"
        text: "Evening. Still on your mind: {{ai_topic|your AI chats}}?"
      - {{id: note, type: text, text: "Anything else? {{{{optional}}}}"}}
  - id: report
    title: AI report
    items:
      - {{id: ai_topic, type: text, text: "What did you talk about with the AI?"}}
      - {{id: ai_helped, type: yes_no, text: "You said: {{ai_topic|nothing}}. Did it help?"}}
schedules:
  - {{id: twice, questionnaire: checkin, type: fixed, times: ["10:00", "20:00"],
     channel: {channel}, expires_after_minutes: 60}}
  - {{id: after_ai, questionnaire: report, type: event, keyword: AI}}
"""
CSV = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"


def protocol(channel: str = "sms", privacy: bool = False) -> str:
    return PROTOCOL.format(channel=channel, privacy=str(privacy).lower())


def send_due(db, clock, dispatcher, participant, day: int, beep: int) -> PlannedPrompt:
    """Let the dispatcher send the participant's check-in of study day `day` at `beep` (1:
    10:00, 2: 20:00)."""
    prompts = db.session.scalars(
        sa.select(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == "twice",
            PlannedPrompt.study_day == day,
        )
        .order_by(PlannedPrompt.due_at)
    ).all()
    prompt = prompts[beep - 1]
    clock.set(prompt.due_at + timedelta(seconds=1))
    dispatcher.tick()
    db.session.expire_all()
    return db.session.get(PlannedPrompt, prompt.id)
