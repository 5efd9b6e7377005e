"""A provider that fails a share of calls: nothing lost, nothing sent twice or after expiry."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eas.delivery.dispatcher import Dispatcher
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.delivery.fakes import FakeProvider, random_faults

PROTOCOL = """
study: {id: faults, title: Faults, timezone: UTC, duration_days: 2}
participant_defaults: {wake: "08:00", sleep: "20:00"}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood? 0-10"}]
schedules:
  - {id: beeps, questionnaire: q, type: random, per_day: 4, min_gap_minutes: 60,
     expires_after_minutes: 20, reminders: [{after_minutes: 5}]}
"""


def test_a_flaky_provider_loses_nothing(db, clock, create_study, enroll_csv):
    study = create_study(PROTOCOL)
    rows = "".join(f"F{n:02d},+1202555{n:04d},UTC,2026-03-19\n" for n in range(30))
    enroll_csv(study, "label,phone,timezone,start_date\n" + rows)
    provider = FakeProvider(clock, random_faults(0.35))
    dispatcher = Dispatcher(provider, name="flaky", clock=clock, workers=4)
    clock.set(datetime(2026, 3, 19, 7, 0, tzinfo=UTC))
    end = datetime(2026, 3, 21, 0, 0, tzinfo=UTC)
    while clock.now() < end:
        dispatcher.tick()
        clock.advance(timedelta(seconds=30))
        if clock.now().hour >= 21:  # nothing is due at night: skip to the next morning
            clock.set((clock.now() + timedelta(days=1)).replace(hour=7, minute=30))
    dispatcher.close()

    prompts = db.session.scalars(sa.select(PlannedPrompt)).all()
    assert len(prompts) == 30 * 2 * 4
    outcomes = Counter(p.status for p in prompts)
    assert set(outcomes) <= {PromptStatus.sent, PromptStatus.failed}, outcomes
    assert outcomes[PromptStatus.sent] > 0.9 * len(prompts)
    by_key = {f"prompt-{p.id}-attempt-{n}": p for p in prompts for n in range(1, 30)}
    sent_prompt_ids = Counter()
    for accepted in provider.accepted:
        key = accepted.message.idempotency_key
        if "-reminder-" in key:
            continue
        prompt = by_key[key]
        sent_prompt_ids[prompt.id] += 1
        assert prompt.due_at <= accepted.receipt.sent_at < prompt.expires_at  # never late
    assert set(sent_prompt_ids.values()) == {1}  # never twice
    assert set(sent_prompt_ids) == {p.id for p in prompts if p.status is PromptStatus.sent}
    failed = [p for p in prompts if p.status is PromptStatus.failed]
    assert all(p.status_reason for p in failed)
    assert provider.calls > len(provider.accepted)  # the faults really happened
