"""A participant's state at a moment (`participant_state`), the one rule the participant page,
the list, `eas participants list` and the API show: paused while a pause is in force, until
its end in the participant's own time and zone; active again once it has passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eas.participants.lifecycle import opt_out, pause, resume, withdraw
from eas.participants.models import ParticipantStatus, Pause
from eas.participants.state import participant_state

#: Sat 21 Mar 2026 14:00 in New York (EDT, UTC-4): three days after the tests' T0.
UNTIL = datetime(2026, 3, 21, 18, 0, tzinfo=UTC)


def test_a_pause_with_an_end_reads_paused_until_their_local_time(db, clock, participant):
    assert participant_state(participant, clock.now()).text == "active"
    pause(participant, clock.now(), until=UNTIL, actor="test")
    assert participant.status is ParticipantStatus.active  # it ends by itself

    shown = participant_state(participant, clock.now())
    assert shown.state == "paused" and shown.paused
    assert shown.text == "paused until Sat 21 Mar 2026 14:00 EDT" == str(shown)
    assert shown.sentence == "Paused until Sat 21 Mar 2026 14:00 EDT"
    assert shown.paused_until == UNTIL
    assert shown.paused_until_local.isoformat() == "2026-03-21T14:00:00-04:00"

    just_before = participant_state(participant, UNTIL - timedelta(seconds=1))
    assert just_before.text == "paused until Sat 21 Mar 2026 14:00 EDT"
    ended = participant_state(participant, UNTIL)
    assert ended.text == "active" and ended.paused_until is None and not ended.paused


def test_local_time_follows_the_zone_and_its_abbreviation(db, clock, participant):
    # November in New York is standard time: EST, not the EDT of March.
    until = datetime(2026, 11, 10, 14, 0, tzinfo=UTC)
    pause(participant, clock.now(), until=until, actor="test")
    assert participant_state(participant, clock.now()).text == (
        "paused until Tue 10 Nov 2026 09:00 EST"
    )
    participant.timezone = "Europe/Berlin"
    assert participant_state(participant, clock.now()).text == (
        "paused until Tue 10 Nov 2026 15:00 CET"
    )


def test_open_ended_pause_and_resume(db, clock, participant):
    pause(participant, clock.now(), actor="test")
    shown = participant_state(participant, clock.now())
    assert shown.text == "paused" and shown.paused_until is None
    assert participant_state(participant, clock.now() + timedelta(days=365)).text == "paused"
    resume(participant, clock.now() + timedelta(hours=1), actor="test")
    assert participant_state(participant, clock.now() + timedelta(hours=1)).text == "active"


def test_resuming_a_pause_with_an_end_early(db, clock, participant):
    pause(participant, clock.now(), until=UNTIL, actor="test")
    later = clock.now() + timedelta(days=1)
    resume(participant, later, actor="test")
    assert participant_state(participant, later).text == "active"


def test_a_pause_that_runs_into_another_reads_until_the_last_end(db, clock, participant):
    now = clock.now()
    participant.pauses.append(Pause(starts_at=now, ends_at=UNTIL, created_at=now))
    longer = UNTIL + timedelta(days=2)
    participant.pauses.append(
        Pause(starts_at=UNTIL - timedelta(hours=1), ends_at=longer, created_at=now)
    )
    assert participant_state(participant, now).text == "paused until Mon 23 Mar 2026 14:00 EDT"
    participant.pauses.append(Pause(starts_at=longer, ends_at=None, created_at=now))
    assert participant_state(participant, now).text == "paused"


def test_a_pause_yet_to_start_leaves_them_active(db, clock, participant):
    now = clock.now()
    starts = now + timedelta(days=1)
    participant.pauses.append(Pause(starts_at=starts, ends_at=UNTIL, created_at=now))
    shown = participant_state(participant, now)
    assert shown.text == "active" and shown.paused_until is None
    assert shown.next_pause == (starts, UNTIL)
    assert shown.next_pause_text == (
        "pause from Thu 19 Mar 2026 10:00 EDT to Sat 21 Mar 2026 14:00 EDT"
    )
    assert participant_state(participant, starts).text == ("paused until Sat 21 Mar 2026 14:00 EDT")


def test_states_beyond_pauses(db, clock, participant, study, enroll_csv):
    other = enroll_csv(study, "label,phone,timezone\nP2,+12025550102,UTC\n").created[0]
    pause(participant, clock.now(), until=UNTIL, actor="test")
    withdraw(participant, clock.now(), actor="test")
    assert participant_state(participant, clock.now()).text == "withdrawn"
    opt_out(other, clock.now(), source="sms")
    shown = participant_state(other, clock.now())
    assert shown.state == "opted_out" and shown.text == "opted out"
    other.status = ParticipantStatus.completed
    assert participant_state(other, clock.now()).text == "completed"
