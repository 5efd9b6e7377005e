def test_index_lists_studies(client, create_study):
    assert b"No studies yet" in client.get("/").data
    create_study()
    page = client.get("/")
    assert page.status_code == 200
    assert b"AI conversations, connection and loneliness in daily life" in page.data
    assert b'href="/studies/ai-connection"' in page.data


def test_study_page_shows_protocol_and_participant_counts(client, create_study, enroll_csv):
    study = create_study()
    enroll_csv(study, "label,phone,timezone\nP1,+12025550101,America/New_York\n")
    page = client.get("/studies/ai-connection")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "protocol version 1" in html
    assert "5 random a day, at least 90 min apart" in html
    assert "when the participant texts AI" in html
    assert "How lonely do you feel?" not in html  # the demo's wording, not a template's
    assert "Right now, how lonely do you feel?" in html
    assert "Reply 0-10" in html
    assert "if ai_chat == yes" in html
    assert "+1202" not in html and "555" not in html  # never a phone number
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


def test_unknown_study_is_404(client):
    assert client.get("/studies/nope").status_code == 404
