"""Server-rendered pages."""

from __future__ import annotations

from flask import Flask, Response, abort, redirect, request, url_for

from eas.core.db import db

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def init_web(app: Flask) -> None:
    from eas.responses.prompt_states import STATES
    from eas.sms import views as sms_views
    from eas.surveys import views as survey_views
    from eas.web import (
        auth,
        health,
        monitor_views,
        participant_views,
        setup_views,
        simulator,
        team_views,
        views,
    )
    from eas.web.csrf import csrf_token
    from eas.web.monitoring import hide_link_tokens, local_time

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["hide_link_tokens"] = hide_link_tokens
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.globals["prompt_states"] = STATES
    app.register_blueprint(views.bp)
    app.register_blueprint(setup_views.bp)
    app.register_blueprint(participant_views.bp)
    app.register_blueprint(monitor_views.bp)
    app.register_blueprint(team_views.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(sms_views.bp)
    app.register_blueprint(survey_views.bp)
    # The phone simulator texts as participants (signed-in coordinators of their study): a
    # development tool only.
    if app.config["EAS_SMS_PROVIDER"] == "simulator" and app.config["EAS_ENV"] != "production":
        app.register_blueprint(simulator.bp)

    @app.get("/favicon.ico")
    def favicon():
        # Browsers ask for it whatever the page's <link rel="icon"> says.
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.before_request
    def refuse_control_characters():
        # No name of ours holds one, and PostgreSQL refuses a NUL in a query parameter.
        if any(ord(character) < 32 for character in request.path):
            abort(404)

    @app.after_request
    def finish_request(response: Response) -> Response:
        # The one place a request's work is committed; failed requests leave no trace.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        for header, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response
