"""Key rotation keeps every number readable, with the new key alone afterwards."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from eas.core.crypto import DataCipher
from eas.delivery.models import Message
from eas.participants.models import Participant


@pytest.fixture
def keys(app):
    saved = app.extensions["eas.cipher"]
    old = app.config["EAS_ENCRYPTION_KEYS"]
    yield old, Fernet.generate_key().decode(), app
    app.extensions["eas.cipher"] = saved


def test_rotation_keeps_every_number_readable(db, runner, clock, phone, participant, keys):
    old, new, app = keys
    phone.text("help")
    lookup = app.config["EAS_LOOKUP_KEY"]
    app.extensions["eas.cipher"] = DataCipher(f"{new},{old}", lookup)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 participant and 2 message numbers and 0 sealed" in result.output
    app.extensions["eas.cipher"] = DataCipher(new, lookup)  # the old key is gone
    db.session.expire_all()
    assert db.session.get(Participant, participant.id).phone == "+12025550101"
    for token in db.session.scalars(sa.select(Message.phone_encrypted)):
        assert app.extensions["eas.cipher"].decrypt(token) == "+12025550101"


def test_rotation_without_the_old_key_changes_nothing(db, runner, participant, keys):
    _, new, app = keys
    before = participant.phone_encrypted
    db.session.commit()  # as enrolment does (the refused command rolls back what is pending)
    app.extensions["eas.cipher"] = DataCipher(new, app.config["EAS_LOOKUP_KEY"])
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1 and "nothing changed" in result.output
    db.session.expire_all()
    assert db.session.get(Participant, participant.id).phone_encrypted == before
