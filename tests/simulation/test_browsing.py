"""The synthetic participants' browser: requests as a WSGI server hands them to the app, and
the cookies the app sets, kept and sent back."""

from __future__ import annotations

from flask import Flask, redirect, request, session

from eas.simulation.browsing import Browser, Page


def _app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "test"

    @app.get("/p/<token>")
    def page(token: str):
        seen = session.get("seen", 0)
        session["seen"] = seen + 1
        return f"{token} {request.host} {request.remote_addr} seen={seen}"

    @app.post("/p/<token>")
    def send(token: str):
        if request.form.getlist("mood") != ["7", "8"] or request.form["note"] != "a b&c=d":
            return "bad form", 400
        return redirect(f"/p/{token}", 303)

    @app.post("/forget")
    def forget():
        session.clear()
        return "forgotten"

    return app


def test_pages_are_read_and_the_session_cookie_kept():
    browser = Browser(_app())
    assert browser.get("/p/abc") == Page(200, "abc localhost 127.0.0.1 seen=0")
    assert browser.get("/p/abc") == Page(200, "abc localhost 127.0.0.1 seen=1")
    assert set(browser.cookies) == {"session"}
    assert Browser(browser.app).get("/p/abc").html.endswith("seen=0")  # another browser


def test_a_form_is_sent_as_a_browser_encodes_it():
    browser = Browser(_app())
    sent = browser.post("/p/abc", [("mood", "7"), ("mood", "8"), ("note", "a b&c=d")])
    assert sent.status_code == 303
    assert browser.post("/p/abc", [("mood", "7")]).status_code == 400


def test_a_cookie_the_app_deletes_is_dropped():
    browser = Browser(_app())
    browser.get("/p/abc")
    assert browser.post("/forget", []) == Page(200, "forgotten")
    assert browser.cookies == {}
    assert browser.get("/p/abc").html.endswith("seen=0")


def test_only_max_age_zero_deletes_a_cookie():
    browser = Browser(_app())
    browser._keep("theme=dark; Path=/; Max-Age=05")
    assert browser.cookies == {"theme": "dark"}
    browser._keep("theme=dark; Path=/; Max-Age=0")
    assert browser.cookies == {}
