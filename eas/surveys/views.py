"""The participant's pages: a prompt's questionnaire (/p/<token>) and their own page
(/me/<token>) for reports they start. Answers are saved page by page; the server decides
branching, required items and ranges; every state has a clear page, never an error."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import Response as FlaskResponse

from eas.core.clock import now_utc
from eas.core.db import begin_write
from eas.participants.models import Channel, ParticipantStatus
from eas.protocols.fields import for_channel
from eas.responses import operations as responses
from eas.responses import state as response_state
from eas.responses.models import ResponseStatus
from eas.responses.progress import PromptProgress
from eas.safety.operations import Kind, Reply, raise_triggered, safety_first
from eas.scheduling import events
from eas.scheduling.models import PromptStatus
from eas.surveys.forms import Tampered, read_page
from eas.surveys.links import issue_token, resolve
from eas.surveys.pages import Page, current_page
from eas.surveys.visits import open_visit
from eas.web.csrf import require_csrf

bp = Blueprint("surveys", __name__)


@bp.before_request
def writers_take_the_write_lock_first() -> None:
    # Saving reads, then writes: on SQLite the transaction must start as the writer.
    if request.method == "POST":
        begin_write()


@bp.after_request
def private(response: FlaskResponse) -> FlaskResponse:
    # Intimate answers: never cached, never indexed, the link never sent on as a referrer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _message(title: str, text: str, status: int):
    return render_template("survey_message.html", title=title, text=text), status


def _link_does_not_work():
    return _message(
        "This link does not work",
        "Please check that the whole link was opened. If it still does not work, the study "
        "team can send you a new one.",
        404,
    )


def _visit_or_page(token: str, *, lock: bool = False):
    visit = open_visit(token, lock=lock)
    if visit is None:
        return None, _link_does_not_work()
    if visit.prompt_status is not PromptStatus.sent:
        return None, _message("This questionnaire is not open", "It was not sent to you.", 404)
    if visit.participant_status not in (ParticipantStatus.active, ParticipantStatus.paused):
        return None, _message("This questionnaire has closed", "Thank you for your time.", 410)
    return visit, None


@bp.get("/p/<token>")
def questionnaire(token: str):
    visit, refusal = _visit_or_page(token)
    if refusal:
        return refusal
    questionnaire = visit.questionnaire(visit.definition())
    if visit.status is ResponseStatus.completed:
        return _done(questionnaire)
    if not visit.is_open(now_utc()):
        return _message(
            "This questionnaire has closed",
            "Its time is over, so it can no longer be answered. Thank you, and watch for the "
            "next one.",
            410,
        )
    _, _, page = _standing(questionnaire, visit)
    return _render_page(questionnaire, visit, page)


def _done(questionnaire):
    """The page after the last one: the questionnaire's thanks, or, when the last page set off
    a safety alert, the alert's reply first and no thanks (`safety_first`, as by SMS)."""
    thanks = Reply(questionnaire.get("thanks") or "Thank you!", Kind.courtesy)
    alerts = [Reply(text, Kind.safety) for text in get_flashed_messages(category_filter=["alert"])]
    shown = safety_first([*alerts, thanks])
    safety = [reply.text for reply in shown if reply.kind is Kind.safety]
    return render_template("survey_done.html", thanks=thanks.text, alerts=safety)


def _standing(questionnaire, visit: PromptProgress) -> tuple[str, dict, Page]:
    """Where a response stands: its current item, the saved answers (as branching sees them)
    and the page it is on."""
    current = visit.current_item_id if visit.started else questionnaire["items"][0]["id"]
    values = visit.answered_values(questionnaire) if visit.started else {}
    return current, values, current_page(questionnaire, current, values)


def _render_page(
    questionnaire, visit: PromptProgress, page: Page, errors=None, entered=None, status=200
):
    return (
        render_template(
            "survey.html",
            questionnaire=questionnaire,
            # The intro's web wording: an SMS-only intro ("Text SKIP ...") is not shown here.
            intro=for_channel(questionnaire.get("intro"), "web"),
            items=page.items,
            page_number=page.number,
            page_count=page.count,
            first_page=not visit.started,
            errors=errors or {},
            entered=entered or {},
            alerts=get_flashed_messages(category_filter=["alert"]),
        ),
        status,
    )


@bp.post("/p/<token>")
def save_page(token: str):
    require_csrf()
    # One page at a time per prompt (the lock; SQLite has one writer): a double submit or a
    # second tab sees the first one's result, and is sent back to where things stand.
    visit, refusal = _visit_or_page(token, lock=True)
    if refusal:
        return refusal
    now = now_utc()
    if visit.status is ResponseStatus.completed:
        return redirect(request.path, 303)
    if not visit.is_open(now):
        return _message(
            "This questionnaire has closed",
            "Its time ran out before this page was sent, so it was not saved. Thank you.",
            410,
        )
    definition = visit.definition()
    questionnaire = visit.questionnaire(definition)
    current, values, page = _standing(questionnaire, visit)
    if request.form.get("page_item") != current:
        # An old copy of the page (another tab, the back button): show where things stand.
        return redirect(request.path, 303)
    try:
        result = read_page(page.items, request.form)
    except Tampered as tampering:
        return _message(
            "This page could not be saved",
            f"It sent a value the questionnaire does not allow ({tampering}). Nothing was "
            "saved. Go back, reload the page and answer again.",
            400,
        )
    if result.errors:
        return _render_page(questionnaire, visit, page, result.errors, result.entered, 422)
    # Asked once per page, not once per answer: the study's current protocol decides.
    seals = bool(visit.seals_free_text)
    response = visit.response(encrypts_free_text=seals) or response_state.start(
        visit.prompt_id, Channel.web, questionnaire["items"][0]["id"], now, encrypts_free_text=seals
    )
    for item, outcome, raw in result.outcomes:
        # Branching within a page depends on earlier pages only, so the shown items are the
        # ones `advance` moves through.
        assert response.current_item_id == item["id"], (response.current_item_id, item["id"])
        responses.record(response, item, outcome, raw, now)
        responses.advance(response, questionnaire, now)
    response_state.save(response)
    texts = [raw for item, _, raw in result.outcomes if item["type"] == "text" and raw]
    after = responses.answered_values(response, questionnaire)
    alerts = raise_triggered(
        visit.participant,
        definition,
        visit.prompt_id,
        questionnaire["id"],
        values,
        after,
        texts,
        channel="web",
        now=now,
    )
    # Shown at the top of the next page, before its questions, or in place of the thanks.
    for reply in safety_first(alerts):
        flash(reply.text, "alert")
    return redirect(request.path, 303)


@bp.get("/me/<token>")
def personal(token: str):
    link = resolve(token, personal=True)
    if link is None:  # unknown, or replaced by a newer link
        return _link_does_not_work()
    participant = link.participant
    definition = participant.study.current_version.definition
    active = participant.status is ParticipantStatus.active
    now = now_utc()
    # Each report with None (its button: one may start now) or the line saying when one can;
    # the POST checks again, as the page may be old by then.
    reports = [
        (schedule, events.availability(participant, schedule, now, definition) if active else None)
        for schedule in events.event_schedules(definition, arm=participant.arm)
    ]
    return render_template(
        "me.html",
        study=participant.study,
        reports=reports,
        questionnaires={q["id"]: q for q in definition["questionnaires"]},
        active=active,
        notice=get_flashed_messages(category_filter=["notice"]),
    )


@bp.post("/me/<token>/reports/<schedule_id>")
def start_report(token: str, schedule_id: str):
    require_csrf()
    link = resolve(token, personal=True)
    if link is None:
        return _link_does_not_work()
    participant = link.participant
    if participant.status not in (ParticipantStatus.active, ParticipantStatus.paused):
        abort(404)
    version = participant.study.current_version
    definition = version.definition
    offered = events.event_schedules(definition, arm=participant.arm)
    schedule = next((s for s in offered if s["id"] == schedule_id), None)
    if schedule is None:
        abort(404)
    now = now_utc()
    report, refusal = events.start_report(
        participant, schedule, now, Channel.web, version_id=version.id, definition=definition
    )
    if report is None:
        flash(refusal, "notice")
        return redirect(url_for("surveys.personal", token=token), 303)
    return redirect(url_for("surveys.questionnaire", token=issue_token(report, now)), 303)
