"""Studies that encrypt free text store no participant's words in clear; exports and key
rotation still read them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from eas.core.crypto import DataCipher
from eas.delivery.models import Message
from eas.export.operations import export_study
from eas.protocols.validation import validate_protocol_text
from eas.sms import inbound
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL
from tests.surveys.helpers import Answerer

SECRET = "Long walk with Sam, felt close"


@pytest.fixture
def sealing(db, study):
    text = DEMO_PROTOCOL.read_text().replace(
        "  contact:", "  privacy: {encrypt_free_text: true}\n  contact:", 1
    )
    publish_protocol(validate_protocol_text(text, "sealed.yaml"), actor="test")


def _stored(db, sql: str) -> list[str]:
    return [row[0] for row in db.session.execute(sa.text(sql)) if row[0] is not None]


def test_free_text_is_stored_sealed_and_exported_in_clear(
    db, app, clock, client, phone, sealing, diary, tmp_path, runner
):
    phone.text("I feel alone tonight")  # a text outside any check-in
    answerer = Answerer(client, diary[1])
    answerer.submit({"day_ai_minutes": "0"})
    answerer.submit({"day_in_person": "no"})
    answerer.submit({"day_lonely": "6", "day_note": SECRET})
    raw = (
        _stored(db, "SELECT body FROM messages WHERE direction = 'inbound'")
        + _stored(db, "SELECT raw_value FROM answers")
        + _stored(db, "SELECT value_text FROM answers")
    )
    assert raw and not any("alone" in value or "Sam" in value for value in raw)
    assert any(value.startswith("enc1:") for value in raw)

    export_study(diary[0].participant.study, tmp_path / "out", now=clock.now())
    assert SECRET in (tmp_path / "out" / "responses.csv").read_text()

    old = app.config["EAS_ENCRYPTION_KEYS"]
    saved = app.extensions["eas.cipher"]
    new = Fernet.generate_key().decode()
    try:
        app.extensions["eas.cipher"] = DataCipher(f"{new},{old}", app.config["EAS_LOOKUP_KEY"])
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0 and "sealed texts" in result.output
        app.extensions["eas.cipher"] = DataCipher(new, app.config["EAS_LOOKUP_KEY"])
        db.session.expire_all()
        export_study(diary[0].participant.study, tmp_path / "again", now=clock.now())
        assert SECRET in (tmp_path / "again" / "responses.csv").read_text()
    finally:
        app.extensions["eas.cipher"] = saved


def test_studies_that_do_not_opt_in_store_text_as_sent(db, phone, participant):
    phone.text("plain words")
    assert _stored(db, "SELECT body FROM messages WHERE direction = 'inbound'") == ["plain words"]


def test_a_text_whose_sender_cannot_be_looked_up_is_stored_sealed(
    db, phone, participant, monkeypatch
):
    # It may be a participant's, in a study that seals what they write: not in clear.
    def failing(phone_hash, now):
        raise RuntimeError("the lookup failed")

    monkeypatch.setattr(inbound, "sender_of", failing)
    phone.text("I feel alone tonight")
    (body,) = _stored(db, "SELECT body FROM messages WHERE direction = 'inbound'")
    assert body.startswith("enc1:") and "alone" not in body
    assert db.session.scalar(sa.select(Message.body)) == "I feel alone tonight"  # read back


def test_a_text_is_stored_when_its_sender_lookup_fails_in_the_database(
    db, phone, participant, monkeypatch
):
    """A failed statement ends a PostgreSQL transaction: the text is stored in a new one."""

    def failing(phone_hash, now):
        db.session.execute(sa.text("SELECT no_such_column FROM participants"))

    monkeypatch.setattr(inbound, "sender_of", failing)
    phone.text("I feel alone tonight")
    (body,) = _stored(db, "SELECT body FROM messages WHERE direction = 'inbound'")
    assert body.startswith("enc1:") and "alone" not in body


def test_a_text_from_a_number_no_study_knows_is_stored_as_sent(db, clock, participant):
    inbound.receive(
        {"MessageSid": "SMnobody", "From": "+12025550999", "Body": "wrong number"}, clock.now()
    )
    assert _stored(db, "SELECT body FROM messages WHERE direction = 'inbound'") == ["wrong number"]
