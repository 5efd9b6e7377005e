"""`eas participants list` and the lifecycle commands say what the page and the API say: a
pause with an end date reads "paused until" its end in the participant's time and zone (the
`--until` given in their time, as on the page, or with an offset), and "active" once it has
passed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

PAUSED = "paused until Sat 21 Mar 2026 14:00 EDT"


def _listed(runner) -> list[str]:
    result = runner.invoke(args=["participants", "list", "ai-connection"])
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_a_pause_with_an_end_date_is_listed_until_it_ends(db, runner, clock, participant):
    assert _listed(runner)[0].startswith("P1\tactive\tAmerica/New_York\t09:00-22:00\t")
    paused = runner.invoke(
        args=["participants", "pause", "ai-connection", "P1", "--until", "2026-03-21T14:00"]
    )
    assert paused.exit_code == 0, paused.output
    assert paused.output.startswith(f"P1: {PAUSED}; ")
    assert _listed(runner)[0].startswith(f"P1\t{PAUSED}\tAmerica/New_York\t09:00-22:00\t")

    clock.set(datetime(2026, 3, 21, 18, 0, tzinfo=UTC) + timedelta(seconds=1))
    db.session.expire_all()
    assert _listed(runner)[0].startswith("P1\tactive\tAmerica/New_York\t")


def test_open_ended_pause_and_opt_out_are_listed(db, runner, clock, participant, enroll_csv):
    from eas.participants.lifecycle import opt_out

    other = enroll_csv(participant.study, "label,phone,timezone\nP2,+12025550102,UTC\n")
    opt_out(other.created[0], clock.now(), source="sms")
    paused = runner.invoke(args=["participants", "pause", "ai-connection", "P1"])
    assert paused.output.startswith("P1: paused; ")
    lines = _listed(runner)
    assert lines[0].startswith("P1\tpaused\t") and lines[1].startswith("P2\topted out\tUTC\t")


def test_until_may_name_its_own_offset_and_nonsense_is_refused(db, runner, participant):
    with_offset = ["participants", "pause", "ai-connection", "P1", "--until"]
    paused = runner.invoke(args=[*with_offset, "2026-03-21T18:00+00:00"])
    assert paused.output.startswith(f"P1: {PAUSED}; ")
    refused = runner.invoke(args=[*with_offset, "next tuesday"])
    assert refused.exit_code == 2 and "is not a date and time" in refused.output
