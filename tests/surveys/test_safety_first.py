"""On the web too, the safety reply comes first and takes the place of the questionnaire's
cheerful thanks (issue 25, blocker 4)."""

from __future__ import annotations

import re

import pytest

from tests.surveys.helpers import Answerer

CRISIS_REPLY = "If you are thinking about hurting yourself, call or text 988 now"


@pytest.fixture
def answerer(client, diary):
    return Answerer(client, diary[1])


def _text(html: str) -> str:
    """The page's visible words in order, tags and spacing aside."""
    body = html.split("<main", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_crisis_words_on_the_last_page_show_the_crisis_reply_and_no_thanks(db, diary, answerer):
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "9", "day_note": "some days I just want to die honestly"})
    html = answerer.page().get_data(as_text=True)
    words = _text(html)
    assert CRISIS_REPLY in words
    assert words.index("We are here for you.") < words.index("Your answers are saved")
    assert "Sleep well" not in html  # the diary's thanks
    assert "<h1>Thank you</h1>" not in html and "<title>Thank you</title>" not in html
    assert html.count('role="alert"') == 1


def test_without_an_alert_the_last_page_thanks_as_ever(db, diary, answerer):
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "2", "day_note": "a quiet day"})
    html = answerer.page().get_data(as_text=True)
    assert "Thank you. Sleep well!" in html and "<h1>Thank you</h1>" in html
    assert 'role="alert"' not in html
