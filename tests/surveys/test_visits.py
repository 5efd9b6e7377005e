"""The questionnaire pages' own reading and writing (eas.surveys.visits): what they cost in
statements, and what they keep between requests."""

from __future__ import annotations

import pytest

from eas.studies import definitions
from eas.surveys import visits
from tests.surveys.helpers import Answerer, csrf_of, page_item_of


@pytest.fixture
def answerer(client, diary):
    return Answerer(client, diary[1])


def test_a_page_of_several_answers_is_saved_in_a_fixed_number_of_statements(
    db, answerer, statements
):
    answerer.submit({"day_ai_minutes": "45"})
    html = answerer.page().get_data(as_text=True)
    data = {
        "csrf_token": csrf_of(html),
        "page_item": page_item_of(html),
        "day_ai_replaced": "3",
        "day_ai_expectations": "6",
        "day_partner_compared": "yes",
        "day_in_person": "yes",
    }
    statements.clear()
    assert answerer.client.post(answerer.path, data=data).status_code == 303
    # The visit, whether the study seals free text, the response's row, its new answers in
    # one executemany: not a statement (or a flush) per answer.
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 2, statements
    assert len(statements) <= 6, statements


def test_the_page_shows_the_protocol_version_it_was_planned_from(db, answerer, monkeypatch):
    # A cached definition is only ever one of the same database, version and source text.
    monkeypatch.setattr(definitions, "_CACHE", {})
    assert answerer.page().status_code == 200
    ((database, version_id, source_hash),) = definitions._CACHE
    definition = definitions._CACHE[(database, version_id, source_hash)]
    definitions._CACHE[(database, version_id, "another source")] = {"questionnaires": []}
    definitions._CACHE[("another database", version_id, source_hash)] = {"questionnaires": []}
    assert "Your evening diary" in answerer.page().get_data(as_text=True)
    assert definitions._CACHE[(database, version_id, source_hash)] is definition


def test_unknown_and_personal_tokens_open_no_visit(db, app, participant):
    from eas.core.clock import now_utc
    from eas.surveys.links import personal_link

    with app.test_request_context():
        token = personal_link(participant, now_utc()).rsplit("/", 1)[1]
        assert visits.open_visit(token) is None
        assert visits.open_visit("") is None
        assert visits.open_visit("x" * 65) is None
        assert visits.open_visit("not-a-token") is None
