"""Operations endpoints: /healthz (is a dispatcher running?) and /metrics (Prometheus)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from eas.core.clock import now_utc
from eas.core.db import db
from eas.delivery.models import DispatcherHeartbeat

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    now = now_utc()
    # A dispatcher is alive if it ticked within a few intervals.
    allowed = 3 * current_app.config["EAS_DISPATCH_INTERVAL_SECONDS"] + 10
    beats = db.session.scalars(
        sa.select(DispatcherHeartbeat).order_by(DispatcherHeartbeat.last_tick_at.desc())
    ).all()
    dispatchers = [
        {
            "name": beat.name,
            "last_tick_at": beat.last_tick_at.isoformat(),
            "seconds_since_last_tick": round((now - beat.last_tick_at).total_seconds(), 1),
            "ticks": beat.ticks,
            "sent": beat.sent,
        }
        for beat in beats
    ]
    alive = any(d["seconds_since_last_tick"] <= allowed for d in dispatchers)
    body = {"status": "ok" if alive else "no dispatcher running", "dispatchers": dispatchers}
    return jsonify(body), 200 if alive else 503


@bp.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
