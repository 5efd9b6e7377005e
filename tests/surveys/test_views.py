"""The evening diary on the web, answered page by page through the Flask test client."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.responses.models import Answer, MissingCode, Response, ResponseStatus
from tests.surveys.helpers import Answerer


@pytest.fixture
def answerer(client, diary):
    return Answerer(client, diary[1])


def _answers(db, prompt) -> dict:
    db.session.expire_all()
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    if response is None:
        return {}
    return {a.item_id: (a.value_numeric, a.value_text, a.missing_code) for a in response.answers}


def test_the_evening_diary_page_by_page(db, diary, answerer):
    prompt, _ = diary
    first = answerer.page()
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert "Page 1 of 3" in html and "Your evening diary" in html
    assert "About how many minutes did you spend talking with AI" in html
    assert first.headers["Cache-Control"] == "no-store"
    assert "script-src" not in first.headers["Content-Security-Policy"]  # default-src 'self'

    assert answerer.submit({"day_ai_minutes": "45"}).status_code == 303
    html = answerer.page().get_data(as_text=True)
    assert "Page 2 of 3" in html and "take the place of contact with people" in html
    answerer.submit(
        {
            "day_ai_replaced": "3",
            "day_ai_expectations": "6",
            "day_partner_compared": "yes",
            "day_in_person": "yes",
        }
    )
    html = answerer.page().get_data(as_text=True)
    assert "How satisfying was that time with people?" in html
    answerer.submit({"day_contact_quality": "5", "day_lonely": "4", "day_note": "Dinner w/ Sam"})
    done = answerer.page().get_data(as_text=True)
    assert "Thank you. Sleep well!" in done

    answers = _answers(db, prompt)
    assert answers["day_ai_minutes"][0] == 45
    assert answers["day_partner_compared"][:2] == (1, "yes")
    assert answers["day_contact_quality"][0] == 5
    assert answers["day_note"][1] == "Dinner w/ Sam"
    response = db.session.scalar(sa.select(Response).where(Response.prompt_id == prompt.id))
    assert response.status is ResponseStatus.completed and response.channel.value == "web"


def test_branching_is_decided_on_the_server(db, diary, answerer):
    prompt, _ = diary
    answerer.submit({"day_ai_minutes": "0"})
    html = answerer.page().get_data(as_text=True)
    assert "take the place of contact" not in html
    assert "Did you spend time with someone in person today?" in html
    answerer.submit({"day_in_person": "no", "day_ai_replaced": "9"})  # a hidden item: ignored
    html = answerer.page().get_data(as_text=True)
    assert "How satisfying" not in html
    answerer.submit({"day_lonely": "7"})
    answers = _answers(db, prompt)
    for item in ("day_ai_replaced", "day_ai_expectations", "day_partner_compared"):
        assert answers[item][2] is MissingCode.not_presented
    assert answers["day_contact_quality"][2] is MissingCode.not_presented
    assert answers["day_note"][2] is MissingCode.skipped  # left empty
    assert len(answers) == 8


@pytest.mark.parametrize(
    ("value", "message"),
    # What SMS refuses too: no number, a number too large to be an answer, or off the range.
    [
        (value, "Please enter a whole number from 0 to 1440.")
        for value in ("abc", "2000", "1e300", "inf", "-inf", "nan", "1e3", "10000000000000", "2.5")
    ],
)
def test_a_wrong_answer_comes_back_with_a_message_and_nothing_is_saved(
    db, diary, answerer, value, message
):
    response = answerer.submit({"day_ai_minutes": value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'role="alert"' in html
    assert f'value="{value}"' in html  # what was typed stays
    assert _answers(db, diary[0]) == {}


def test_control_characters_typed_in_a_number_are_not_stored(db, diary, answerer):
    # PostgreSQL refuses a NUL in text: the raw value is kept as it can be stored.
    assert answerer.submit({"day_ai_minutes": "45\x00\x07"}).status_code == 303
    raw, numeric = db.session.execute(
        sa.select(Answer.raw_value, Answer.value_numeric).where(Answer.item_id == "day_ai_minutes")
    ).one()
    assert raw == "45" and numeric == 45


@pytest.mark.parametrize(
    ("earlier", "answers"),
    [
        ([{"day_ai_minutes": "0"}], {"day_in_person": "maybe"}),
        ([{"day_ai_minutes": "0"}, {"day_in_person": "no"}], {"day_lonely": "11"}),
        ([{"day_ai_minutes": "0"}, {"day_in_person": "no"}], {"day_lonely": "4.5"}),
        ([{"day_ai_minutes": "0"}, {"day_in_person": "no"}], {"day_lonely": "<script>"}),
    ],
)
def test_a_tampered_form_is_refused_and_nothing_is_saved(db, diary, answerer, earlier, answers):
    for page in earlier:
        assert answerer.submit(page).status_code == 303
    before = _answers(db, diary[0])
    response = answerer.submit(answers)
    assert response.status_code == 400
    assert "could not be saved" in response.get_data(as_text=True)
    assert _answers(db, diary[0]) == before


def test_a_post_without_the_csrf_token_is_refused(db, client, diary):
    response = client.post(diary[1], data={"day_ai_minutes": "5"})
    assert response.status_code == 400
    assert _answers(db, diary[0]) == {}


def test_a_dropped_connection_resumes_where_it_stopped(db, app, diary, answerer):
    answerer.submit({"day_ai_minutes": "20"})
    other_browser = Answerer(app.test_client(), diary[1])
    html = other_browser.page().get_data(as_text=True)
    assert "Page 2 of 3" in html
    # A stale copy of page 1 posted again changes nothing.
    stale = other_browser.client.post(
        diary[1], data={"page_item": "day_ai_minutes", "day_ai_minutes": "99"}
    )
    assert stale.status_code == 400  # no CSRF token in this browser's session yet


def test_closed_used_and_unknown_links_get_clear_pages(db, clock, client, diary, answerer):
    prompt, path = diary
    assert client.get("/p/not-a-real-token").status_code == 404
    assert "This link does not work" in client.get("/p/xyz").get_data(as_text=True)
    clock.set(prompt.expires_at + timedelta(seconds=1))
    closed = client.get(path)
    assert closed.status_code == 410
    assert "This questionnaire has closed" in closed.get_data(as_text=True)


def test_a_used_link_shows_the_thanks_again(db, clock, diary, answerer):
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "2"})
    again = answerer.page()
    assert again.status_code == 200 and "Your answers are saved" in again.get_data(as_text=True)
    assert answerer.client.post(diary[1], data={}).status_code == 400  # CSRF first
    html = answerer.page().get_data(as_text=True)
    assert "form" not in html


def test_crisis_words_in_a_free_text_answer_show_the_protocols_reply(db, diary, answerer):
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "9", "day_note": "some days I want to die"})
    html = answerer.page().get_data(as_text=True)
    assert "If you are thinking about hurting yourself, call or text 988 now" in html


def test_a_started_diary_stays_open_a_little_past_its_expiry(db, clock, diary, answerer):
    prompt, _ = diary
    clock.set(prompt.expires_at - timedelta(minutes=2))
    answerer.submit({"day_ai_minutes": "0"})
    clock.set(prompt.expires_at + timedelta(minutes=5))
    assert answerer.submit({"day_in_person": "no"}).status_code == 303
    clock.set(prompt.expires_at + timedelta(minutes=25))
    assert answerer.page().status_code == 410
