"""Issue 25, rough edges of the web questionnaire: an intro may have each channel's wording
(`intro: {sms: ..., web: ...}`), so a web page never says "Text SKIP"; a scale's end labels
are said once, not three times (the item's text, the hint and each point)."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from eas.protocols.sms_format import opening_text
from eas.protocols.validation import validate_protocol_text
from eas.surveys.links import personal_link
from tests.helpers import DEMO_PROTOCOL
from tests.protocols.helpers import at, errors_of, protocol
from tests.surveys.helpers import Answerer, csrf_of

# The intro: one text, or one per channel ---------------------------------------------------


def test_the_demo_intros_have_each_channels_wording(demo_protocol):
    questionnaires = {q["id"]: q for q in demo_protocol.definition["questionnaires"]}
    for name in ("momentary", "ai_event"):
        intro = questionnaires[name]["intro"]
        assert "Text SKIP" in intro["sms"] and "SKIP" not in intro["web"]
    # By SMS the check-in opens as it always did.
    assert opening_text(questionnaires["momentary"]).startswith(
        "Check-in time! A few quick questions about the last few hours. Text SKIP to skip one.\n"
        "1/10 Since the last check-in"
    )


def _intro(intro: str) -> str:
    return protocol(
        more=f"- id: r\n  intro: {intro}\n  items:\n    - {{id: a, type: yes_no, text: A}}"
    )


def test_an_intro_per_channel_validates():
    loaded = validate_protocol_text(_intro("{sms: Text SKIP to skip one., web: Hello}"), "p.yaml")
    assert loaded.definition["questionnaires"][1]["intro"] == {
        "sms": "Text SKIP to skip one.",
        "web": "Hello",
    }


@pytest.mark.parametrize(
    ("intro", "needle", "message"),
    [
        ("{sms: Hi, email: Hi}", "email", "intro.email: unknown channel; use sms or web"),
        ("{}", "{}", "intro: give the text for sms, web or both: {sms: ..., web: ...}"),
        ("[x, y]", "[x, y]", "intro: must be text, or one text per channel: {sms: ..., web: ...}"),
        ("{web: 5}", "5}", "intro.web: must be text"),
        ('{web: " "}', '" "', "intro.web: must not be empty"),
        ("{web: " + "x" * 601 + "}", "x" * 601, "intro.web: longer than 600 characters"),
    ],
)
def test_a_malformed_intro_is_named_at_its_line_and_column(intro, needle, message):
    text = _intro(intro)
    assert errors_of(text) == [at(text, needle, "questionnaires[1]." + message)]


def test_an_sms_intro_too_long_is_named_at_its_sms_wording():
    text = (
        protocol()
        .replace(
            "  - id: q\n",
            "  - id: q\n    intro: {web: Short, sms: " + "x" * 310 + "}\n",
        )
        .replace("type: fixed", "type: fixed, channel: sms")
    )
    (error,) = errors_of(text)
    expected = at(text, "x" * 310, "questionnaires[0].intro.sms: as a text message this needs 3")
    assert error.startswith(expected)


# The web page shows the web wording ----------------------------------------------------------


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _report_page(db, clock, client, participant) -> str:
    """The after-AI-chat report, started from the participant's own page (the web)."""
    clock.set(clock.now() + timedelta(days=1, hours=4))  # study day 1
    url = personal_link(participant, clock.now())
    db.session.commit()
    html = client.get(f"/me/{_token(url)}").get_data(as_text=True)
    action = re.search(r'action="([^"]+/reports/after_ai)"', html).group(1)
    started = client.post(action, data={"csrf_token": csrf_of(html)})
    return client.get(started.location).get_data(as_text=True)


def test_a_web_page_shows_the_intros_web_wording(db, clock, client, participant):
    html = _report_page(db, clock, client, participant)
    assert "Thanks for checking in after your AI chat." in html
    assert "Leave out any question you would rather not answer." in html
    assert "SKIP" not in html and "Text " not in html


@pytest.fixture
def sms_only_intro_study(create_study):
    text = DEMO_PROTOCOL.read_text(encoding="utf-8")
    old = (
        "    intro:\n"
        '      sms: "Thanks for checking in after your AI chat. Text SKIP to skip a question."\n'
        '      web: "Thanks for checking in after your AI chat. Leave out any question you '
        'would rather not answer."\n'
    )
    assert old in text
    return create_study(text.replace(old, "    intro: {sms: Text SKIP to skip a question.}\n"))


def test_an_intro_for_sms_only_is_not_shown_on_the_web(
    db, clock, client, sms_only_intro_study, enroll_csv
):
    csv = "label,phone,timezone,start_date\nP1,+12025550101,America/New_York,2026-03-19\n"
    person = enroll_csv(sms_only_intro_study, csv).created[0]
    html = _report_page(db, clock, client, person)
    assert "What was the chat about?" in html
    assert 'class="intro"' not in html and "SKIP" not in html


# A scale's end labels, once -----------------------------------------------------------------


class _Text(HTMLParser):
    """The text of one question (`q-<id>`), as it is seen (no screen-reader-only text) or
    heard (no aria-hidden text)."""

    def __init__(self, question: str, *, heard: bool) -> None:
        super().__init__()
        self.question, self.heard = question, heard
        self.stack: list[bool] = []  # per open element: whether its text is left out
        self.inside = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "br"):
            return
        if self.inside or attrs.get("id") == f"q-{self.question}":
            self.inside += 1
            hidden = (
                attrs.get("aria-hidden") == "true"
                if self.heard
                else "sr-only" in (attrs.get("class") or "").split()
            )
            self.stack.append(hidden or bool(self.stack and self.stack[-1]))

    def handle_endtag(self, tag):
        if self.inside and tag not in ("input", "br"):
            self.inside -= 1
            self.stack.pop()

    def handle_data(self, data):
        if self.inside and not self.stack[-1]:
            self.parts.append(data)


def _question_text(html: str, question: str, *, heard: bool) -> str:
    parser = _Text(question, heard=heard)
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_a_scales_end_labels_are_seen_once_and_heard_once(client, diary):
    answerer = Answerer(client, diary[1])
    answerer.submit({"day_ai_minutes": "45"})
    html = answerer.page().get_data(as_text=True)
    assert "Page 2 of 3" in html
    seen = _question_text(html, "day_ai_replaced", heard=False)
    heard = _question_text(html, "day_ai_replaced", heard=True)
    for label in ("not at all", "completely"):
        assert seen.count(label) == 1, seen
        assert heard.count(label) == 1, heard
    # Seen under the scale's ends; heard with the point they name.
    assert "0 = not at all 10 = completely" in seen
    assert "0 (not at all)" in heard and "10 (completely)" in heard
    assert "Choose a number from 0 to 10." in heard
    # The question itself no longer carries its SMS wording's labels.
    assert "0=not at all" not in html
