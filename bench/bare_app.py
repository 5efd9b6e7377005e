"""The baseline for bench/inbound.py: a bare Flask app whose one POST answers a constant TwiML
document, with no signature check and no database. Served by gunicorn like eas:

    .venv/bin/gunicorn -w 2 -b 127.0.0.1:PORT --pythonpath bench bare_app:app
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks!</Message></Response>'

app = Flask(__name__)


@app.post("/sms/inbound")
def inbound() -> Response:
    return Response(TWIML, mimetype="application/xml")
