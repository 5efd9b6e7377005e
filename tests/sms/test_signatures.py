"""Every webhook request must carry Twilio's signature over the exact URL; others touch nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eas.delivery.models import Message
from tests.sms.helpers import AUTH_TOKEN, PHONE, sign

PARAMS = {"MessageSid": "SM" + "a" * 32, "From": PHONE, "To": "+15005550006", "Body": "7"}


def _stored(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message))


@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
def test_unsigned_requests_are_refused(db, client, twilio_config, participant, path):
    assert client.post(path, data=PARAMS).status_code == 403
    assert _stored(db) == 0


def test_a_forged_signature_is_refused(db, client, twilio_config, participant):
    forged = sign("http://localhost/sms/inbound", PARAMS)[::-1]
    response = client.post("/sms/inbound", data=PARAMS, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert _stored(db) == 0


def test_a_tampered_body_is_refused(db, client, twilio_config, participant):
    signature = sign("http://localhost/sms/inbound", PARAMS)
    tampered = {**PARAMS, "Body": "STOP"}
    response = client.post("/sms/inbound", data=tampered, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert _stored(db) == 0


def test_a_signature_made_with_another_token_is_refused(db, client, twilio_config, participant):
    from twilio.request_validator import RequestValidator

    other = RequestValidator("not-" + AUTH_TOKEN).compute_signature(
        "http://localhost/sms/inbound", PARAMS
    )
    response = client.post("/sms/inbound", data=PARAMS, headers={"X-Twilio-Signature": other})
    assert response.status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(db, client, app, participant):
    assert not app.config.get("EAS_TWILIO_AUTH_TOKEN")
    signature = sign("http://localhost/sms/inbound", PARAMS)
    response = client.post("/sms/inbound", data=PARAMS, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(
    db, client, twilio_config, participant
):
    twilio_config["EAS_PUBLIC_BASE_URL"] = "https://eas.example.org"
    public = sign("https://eas.example.org/sms/inbound", PARAMS)
    response = client.post("/sms/inbound", data=PARAMS, headers={"X-Twilio-Signature": public})
    assert response.status_code == 200
    # The internal URL the app sees is not what Twilio signed.
    internal = sign("http://localhost/sms/inbound", {**PARAMS, "MessageSid": "SM" + "b" * 32})
    response = client.post(
        "/sms/inbound",
        data={**PARAMS, "MessageSid": "SM" + "b" * 32},
        headers={"X-Twilio-Signature": internal},
    )
    assert response.status_code == 403


def test_the_query_string_is_part_of_the_signed_url(db, client, twilio_config, participant):
    url = "http://localhost/sms/inbound?study=ai%C3%A9"
    signature = sign(url, PARAMS)
    response = client.post(
        "/sms/inbound?study=ai%C3%A9", data=PARAMS, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200


def test_repeated_form_keys_are_all_signed(db, client, twilio_config, participant):
    from werkzeug.datastructures import MultiDict

    data = MultiDict([*PARAMS.items(), ("MediaUrl", "https://a"), ("MediaUrl", "https://b")])
    signature = sign("http://localhost/sms/inbound", data)
    response = client.post("/sms/inbound", data=data, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
