"""Issue 22 on the web: the check-in's pages show an item only at the day's last check-in or
after 18:00, and its texts pipe answers (of an earlier page, or of an earlier report), escaped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.responses.models import MissingCode, Response
from tests.responses.helpers import CSV, protocol, send_due
from tests.surveys.helpers import Answerer

TOPIC = "<b>Sam</b> & me"


@pytest.fixture(params=[False, True], ids=["plain", "sealed"])
def person(request, db, create_study, enroll_csv):
    study = create_study(protocol("web", privacy=request.param))
    return enroll_csv(study, CSV).created[0]


def _link(provider, person) -> str:
    body = provider.bodies_for(person.id)[-1]
    assert body.startswith("Check-in: ")
    return re.search(r"https?://[^/]+(/p/\S+)", body).group(1)


def _codes(db, prompt) -> dict:
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    return {a.item_id: a.missing_code for a in response.answers}


def _names(html: str) -> list[str]:
    """The items a page asks, in order."""
    fields = re.findall(r'<(?:input|textarea)[^>]* name="([a-z_]+)"', html)
    return [name for name in dict.fromkeys(fields) if name not in ("csrf_token", "page_item")]


def test_the_last_check_in_of_the_day_shows_more_and_pipes_answers(
    db, clock, client, dispatcher, provider, phone, person
):
    morning = send_due(db, clock, dispatcher, person, day=1, beep=1)
    answerer = Answerer(client, _link(provider, person))
    html = answerer.page().get_data(as_text=True)
    assert _names(html) == ["mood", "topic"]  # a text piping `topic` starts the next page
    assert "Hello again. Your last report: none yet." in html
    answerer.submit({"mood": "7", "topic": "work"})
    html = answerer.page().get_data(as_text=True)
    # Beep 1 of 2, at 10:00: neither the day's review nor the evening item.
    assert _names(html) == ["note"] and "Anything else? {optional}" in html
    answerer.submit({"note": ""})
    assert "Thanks!" in answerer.page().get_data(as_text=True)
    codes = _codes(db, morning)
    assert codes["day_review"] is codes["evening"] is MissingCode.not_presented

    clock.set(clock.now() + timedelta(hours=4))  # a report, texted
    phone.text("AI")
    phone.text(TOPIC)
    phone.text("y")

    evening = send_due(db, clock, dispatcher, person, day=1, beep=2)
    answerer = Answerer(client, _link(provider, person))
    html = answerer.page().get_data(as_text=True)
    assert "Your last report: &lt;b&gt;Sam&lt;/b&gt; &amp; me." in html  # the intro pipes too
    answerer.submit({"mood": "4", "topic": "love"})
    html = answerer.page().get_data(as_text=True)
    # Beep 2 of 2 (the last), at 20:00: both, with what they pipe, escaped.
    assert _names(html) == ["day_review", "evening", "note"]
    assert "still thinking about Love life? Your mood was 4." in html
    assert "Still on your mind: &lt;b&gt;Sam&lt;/b&gt; &amp; me?" in html
    assert TOPIC not in html
    # The server decides what was shown: the items of the page as it showed them.
    assert answerer.submit({"day_review": "yes", "evening": "no"}).status_code == 303
    codes = _codes(db, evening)
    assert codes["day_review"] is codes["evening"] is None
    assert codes["note"] is MissingCode.skipped


def test_a_page_sent_for_items_the_morning_does_not_show_is_not_recorded_for_them(
    db, clock, client, dispatcher, provider, person
):
    morning = send_due(db, clock, dispatcher, person, day=2, beep=1)
    answerer = Answerer(client, _link(provider, person))
    answerer.submit({"mood": "5", "topic": "work"})
    answerer.submit({"day_review": "yes", "evening": "yes", "note": "hello"})
    codes = _codes(db, morning)
    assert codes["day_review"] is codes["evening"] is MissingCode.not_presented
    assert codes["note"] is None
