"""What a webhook may carry: bounded bodies, refused before they are read; the fields every real
Twilio webhook has; texts no longer than Twilio delivers. A refused webhook stores nothing."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from eas.delivery.models import Direction, Message
from eas.sms.views import MAX_TEXT_CHARACTERS
from tests.sms.helpers import PHONE, sign

PARAMS = {"MessageSid": "SM" + "b" * 32, "From": PHONE, "To": "+15005550006", "Body": "7"}
URL = "http://localhost/sms/inbound"


def _stored(db, inbound: bool = False) -> int:
    query = sa.select(sa.func.count()).select_from(Message)
    if inbound:
        query = query.where(Message.direction == Direction.inbound)
    return db.session.scalar(query)


class _Unreadable(io.RawIOBase):
    """A 200 MB request body that must not be read (its size is known: Content-Length)."""

    size = 200 * 1024 * 1024

    def __init__(self) -> None:
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.position = offset if whence == io.SEEK_SET else self.size + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def readinto(self, buffer) -> int:
        raise AssertionError("the body was read")


@pytest.mark.parametrize("signature", [None, "forged-signature"])
@pytest.mark.parametrize("path", ["/sms/inbound", "/sms/status"])
def test_a_huge_body_is_refused_before_it_is_read(db, client, twilio_config, path, signature):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature:
        headers["X-Twilio-Signature"] = signature
    response = client.post(path, input_stream=_Unreadable(), headers=headers)
    assert response.status_code == (413 if signature else 403)
    assert _stored(db) == 0


def test_a_signed_text_longer_than_twilio_delivers_is_refused(db, client, twilio_config):
    params = {**PARAMS, "Body": "x" * (MAX_TEXT_CHARACTERS + 1)}
    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": sign(URL, params)}
    )
    assert response.status_code == 413
    assert str(MAX_TEXT_CHARACTERS) in response.get_data(as_text=True)
    assert _stored(db) == 0


def test_a_text_as_long_as_twilio_delivers_is_stored(db, client, twilio_config, participant):
    params = {**PARAMS, "Body": "é" * MAX_TEXT_CHARACTERS}
    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": sign(URL, params)}
    )
    assert response.status_code == 200
    assert _stored(db, inbound=True) == 1


@pytest.mark.parametrize("field", ["MessageSid", "From", "Body"])
def test_a_signed_inbound_webhook_without_a_field_is_refused(
    db, client, twilio_config, participant, field
):
    params = {key: value for key, value in PARAMS.items() if key != field}
    for _ in range(2):  # a replay too
        response = client.post(
            "/sms/inbound", data=params, headers={"X-Twilio-Signature": sign(URL, params)}
        )
        assert response.status_code == 400
        assert field in response.get_data(as_text=True)
    assert _stored(db) == 0


def test_an_empty_body_is_a_text_all_the_same(db, client, twilio_config, participant):
    params = {**PARAMS, "Body": "", "NumMedia": "1"}  # a picture without words
    response = client.post(
        "/sms/inbound", data=params, headers={"X-Twilio-Signature": sign(URL, params)}
    )
    assert response.status_code == 200
    assert _stored(db, inbound=True) == 1


@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus"])
def test_a_signed_status_callback_without_a_field_is_refused(db, client, twilio_config, field):
    params = {key: value for key, value in {**PARAMS, "MessageStatus": "delivered"}.items()
              if key != field}  # fmt: skip
    url = "http://localhost/sms/status"
    response = client.post(
        "/sms/status", data=params, headers={"X-Twilio-Signature": sign(url, params)}
    )
    assert response.status_code == 400
    assert _stored(db) == 0
