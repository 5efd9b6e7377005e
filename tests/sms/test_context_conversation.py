"""Issue 22 by SMS: an item shown only at the day's last check-in or after 18:00, and item texts
that pipe an answer given earlier in the check-in or in an earlier report."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.responses.models import MissingCode, Response
from tests.responses.helpers import CSV, protocol, send_due

SECRET = "Mostly about my ex, Sam"


@pytest.fixture(params=[False, True], ids=["plain", "sealed"])
def person(request, db, create_study, enroll_csv):
    study = create_study(protocol("sms", privacy=request.param))
    return enroll_csv(study, CSV).created[0]


def _codes(db, prompt) -> dict:
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    return {a.item_id: a.missing_code for a in response.answers}


def test_the_last_check_in_of_the_day_asks_more_and_pipes_answers(
    db, clock, dispatcher, provider, phone, person, caplog
):
    caplog.set_level(logging.DEBUG)
    morning = send_due(db, clock, dispatcher, person, day=1, beep=1)
    assert provider.bodies_for(person.id)[-1] == "1/5 How is your mood? Reply 0-10"
    assert phone.text("7") == [
        "2/5 What was on your mind? Reply one number: 1=Work stuff 2=Love life"
    ]
    # Beep 1 of 2, at 10:00: neither the day's review nor the evening item.
    assert phone.text("1") == ["5/5 Anything else? {optional} Reply in your own words"]
    assert phone.text("no") == ["Thanks!"]
    codes = _codes(db, morning)
    assert codes["day_review"] is codes["evening"] is MissingCode.not_presented

    clock.set(clock.now() + timedelta(hours=4))  # 14:00: a report, texted
    assert phone.text("AI") == ["1/2 What did you talk about with the AI? Reply in your own words"]
    assert phone.text(SECRET) == [f"2/2 You said: {SECRET}. Did it help? Reply Y or N"]
    assert phone.text("yes") == ["Thank you!"]

    evening = send_due(db, clock, dispatcher, person, day=1, beep=2)
    assert provider.bodies_for(person.id)[-1] == "1/5 How is your mood? Reply 0-10"
    phone.text("4")
    # Beep 2 of 2 (the last), at 20:00: both, with what they pipe.
    assert phone.text("2") == [
        "3/5 Last check-in today: still thinking about Love life? Your mood was 4. Reply Y or N"
    ]
    assert phone.text("y") == [f"4/5 Evening. Still on your mind: {SECRET}? Reply Y or N"]
    assert phone.text("n")[0].startswith("5/5 Anything else?")
    assert phone.text("skip") == ["Thanks!"]
    codes = _codes(db, evening)
    assert codes["day_review"] is codes["evening"] is None
    assert SECRET not in caplog.text  # decrypted to be piped, never logged
    # Stored as a study that seals free text stores it: never in clear in the database.
    raw = db.session.connection().exec_driver_sql("SELECT body FROM messages").scalars().all()
    piped = [body for body in raw if SECRET in body]
    sealed = person.study.current_version.definition["study"]["privacy"]["encrypt_free_text"]
    assert piped == ([] if sealed else piped) and (sealed or piped)


def test_compact_replies_and_a_pending_question_follow_the_same_branching(
    db, clock, dispatcher, provider, phone, person
):
    send_due(db, clock, dispatcher, person, day=2, beep=2)
    phone.text("8")
    # HELP in the middle of a check-in repeats its question, as it was asked.
    replies = phone.text("HELP")
    assert replies[-1] == "2/5 What was on your mind? Reply one number: 1=Work stuff 2=Love life"
    assert phone.text("1") == [
        "3/5 Last check-in today: still thinking about Work stuff? Your mood was 8. Reply Y or N"
    ]
    # Nothing reported yet: the fallback.
    assert phone.text("maybe")[0].startswith("Sorry")
    assert phone.text("y") == ["4/5 Evening. Still on your mind: your AI chats? Reply Y or N"]
