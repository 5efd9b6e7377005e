from tests.helpers import sign_in


def test_pages_need_a_signed_in_user(client, create_study):
    create_study()
    assert client.get("/").status_code == 302
    assert client.get("/studies/ai-connection").location.startswith("/login")


def test_index_lists_the_users_studies_only(client, create_study, make_user):
    study = create_study()
    make_user()  # on no study
    sign_in(client)
    assert b"No studies yet" in client.get("/").data
    make_user("owner@example.org", study, "owner")
    other = client.application.test_client()
    sign_in(other, "owner@example.org")
    page = other.get("/")
    assert page.status_code == 200
    assert b"AI conversations, connection and loneliness in daily life" in page.data
    assert b'href="/studies/ai-connection"' in page.data


def test_study_page_shows_protocol_and_participant_counts(
    client, create_study, enroll_csv, make_user
):
    study = create_study()
    enroll_csv(study, "label,phone,timezone\nP1,+12025550101,America/New_York\n")
    make_user(study=study)
    sign_in(client)
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


def test_a_study_one_is_not_on_is_404_like_one_that_does_not_exist(client, create_study, make_user):
    create_study()
    make_user()
    sign_in(client)
    assert client.get("/studies/ai-connection").status_code == 404
    assert client.get("/studies/nope").status_code == 404


def test_the_favicon_is_found(client):
    with client.get("/favicon.ico", follow_redirects=True) as response:  # closes the file
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
