"""Monitoring pages: today's prompts, delivery failures and who is falling behind; the audit
log of everything coordinators (and the system) did in the study."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request

from eas.core.clock import now_utc
from eas.responses.compliance import (
    DEFAULT_THRESHOLD,
    MIN_DUE,
    below_threshold,
    compliance_by_participant,
)
from eas.safety.models import AlertStatus
from eas.web.auth import MAX_ID, bounded_int, login_required, study_for
from eas.web.monitoring import (
    audit_page,
    delivery_failures,
    local_today,
    study_alerts,
    todays_prompts,
)

bp = Blueprint("monitor", __name__)
FAILURE_DAYS = 7
AUDIT_PAGE_SIZE = 50


def _threshold() -> float:
    """The page's compliance threshold in percent (?threshold=70), within 1-100."""
    try:
        percent = float(request.args.get("threshold", DEFAULT_THRESHOLD * 100))
    except ValueError:
        percent = DEFAULT_THRESHOLD * 100
    return min(100.0, max(1.0, percent)) / 100


@bp.get("/studies/<slug>/today")
@login_required
def today(slug: str):
    study, _ = study_for(slug)
    now = now_utc()
    threshold = _threshold()
    prompts = todays_prompts(study, now)
    states: dict[str, int] = {}
    for view in prompts:
        states[view.state] = states.get(view.state, 0) + 1
    return render_template(
        "today.html",
        study=study,
        now=now,
        today=local_today(study, now),
        prompts=prompts,
        alerts=study_alerts(study, AlertStatus.open),
        states=sorted(states.items()),
        failures=delivery_failures(study, now - timedelta(days=FAILURE_DAYS)),
        failure_days=FAILURE_DAYS,
        behind=below_threshold(compliance_by_participant(study, now), threshold),
        threshold=round(threshold * 100),
        min_due=MIN_DUE,
    )


@bp.get("/studies/<slug>/audit")
@login_required
def audit(slug: str):
    study, _ = study_for(slug)
    before = bounded_int(request.args.get("before"), MAX_ID)
    events = audit_page(study, before=before, size=AUDIT_PAGE_SIZE + 1)
    return render_template(
        "audit.html",
        study=study,
        events=events[:AUDIT_PAGE_SIZE],
        older=events[AUDIT_PAGE_SIZE - 1][0].id if len(events) > AUDIT_PAGE_SIZE else None,
    )
