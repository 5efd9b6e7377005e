"""After signing in, `next` is followed only to a path on this site: never to another one,
however a browser would read the target (tab, newline and carriage return dropped anywhere,
leading spaces and control characters stripped, a backslash read as a slash)."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eas.web.auth import same_site_path
from tests.helpers import PASSWORD
from tests.web.helpers import csrf

#: Targets a browser would take to another site (or run), each sent to the index instead.
HOSTILE = [
    "/\t/evil.example/x",  # what `?next=/%09/evil.example/x` decodes to: `//evil.example/x`
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "//evil.example@eas.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\t\\evil.example",
    " //evil.example",
    "\x00//evil.example",
    "\x1f/\\evil.example",
    "https://evil.example",
    "HTTPS://evil.example/studies",
    "https:evil.example",
    "https:/evil.example",
    "https:\\\\evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "\x01javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",  # relative, not from this site's root
    "",
    "http://[",  # not even a URL
]
#: Paths on this site, followed as given.
SAME_SITE = [
    "/",
    "/studies/ai-connection",
    "/studies/ai-connection/today?day=2",
    "/studies/ai-connection/participants/P1#texts",
    "/simulator/",
    "/studies/a%2F%2Fb",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_target_is_refused(target):
    assert same_site_path(target) is None


@pytest.mark.parametrize("target", SAME_SITE)
def test_a_path_on_this_site_is_kept(target):
    assert same_site_path(target) == target


def test_characters_a_url_cannot_carry_are_escaped():
    assert same_site_path("/studies/dé jà") == "/studies/d%C3%A9%20j%C3%A0"
    assert same_site_path("/a\\b") == "/a/b"  # as a browser would read it


#: Pieces of URLs that confuse parsers, joined at random (plain text rarely starts with `//`).
_PIECES = st.sampled_from(
    ["/", "\\", "\t", "\n", "\r", " ", "\x00", "\x0b", "\x7f", ":", "//", "@", "?", "#", "%",
     "%09", "%2F", "%5C", ".", "..", "evil.example", "https", "javascript", "[", "]", "é", "\u3002"]
)  # fmt: skip
_TARGETS = st.text() | st.lists(_PIECES | st.text(max_size=3), max_size=12).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TARGETS)
@example("/\t/evil.example/x")
@example("/\\\\evil")
def test_whatever_is_followed_is_a_path_on_this_site(target):
    path = same_site_path(target)
    if path is None:
        return
    parts = urlsplit(path)
    assert path.startswith("/") and not path.startswith("//")
    assert parts.scheme == "" and parts.netloc == ""
    # Nothing a browser drops or rereads is left, so it reads the path as urllib does...
    assert all(32 < ord(character) < 127 for character in path) and "\\" not in path
    # ...and, resolved against the page, it stays on this site.
    assert urlsplit(urljoin("https://eas.example/login", path)).netloc == "eas.example"
    assert same_site_path(path) == path


def _sign_in_to(client, target: str):
    return client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": csrf(client), "email": "coord@example.org", "password": PASSWORD},
    )


# Targets that were followed (to another site, or escaped as a path) or crashed (a newline in
# the Location header) when `next` was checked as written.
@pytest.mark.parametrize(
    "target", ["/\t/evil.example/x", "/\r\n/evil.example", "/\\evil.example", "/\\/evil.example"]
)
def test_signing_in_never_leads_to_another_site(client, make_user, target):
    make_user()
    response = _sign_in_to(client, target)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_signing_in_leads_back_to_the_page_asked_for(client, make_user, study):
    make_user(study=study)
    asked = client.get("/studies/ai-connection/today?day=2")
    assert asked.status_code == 302
    response = client.post(
        asked.headers["Location"],
        data={"csrf_token": csrf(client), "email": "coord@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/studies/ai-connection/today"
