import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from eas.core.crypto import DataCipher


def test_encrypts_and_decrypts_and_hashes_stably():
    cipher = DataCipher(Fernet.generate_key().decode(), "lookup")
    token = cipher.encrypt("+12025550101")
    assert b"2025550101" not in token
    assert cipher.decrypt(token) == "+12025550101"
    assert cipher.lookup_hash("+12025550101") == cipher.lookup_hash("+12025550101")
    assert cipher.lookup_hash("+12025550101") != cipher.lookup_hash("+12025550102")
    assert cipher.lookup_hash("+1") != DataCipher(Fernet.generate_key().decode(), "x").lookup_hash(
        "+1"
    )


def test_old_keys_still_decrypt_after_a_new_key_is_added():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = DataCipher(old, "k").encrypt("+12025550101")
    assert DataCipher(f"{new},{old}", "k").decrypt(token) == "+12025550101"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        DataCipher(new, "k").decrypt(token)


def test_phone_numbers_are_never_stored_in_clear(db, create_study, enroll_csv):
    study = create_study()
    enroll_csv(study, "label,phone,timezone\nP1,(202) 555-0101,America/New_York\n")
    raw = db.session.execute(sa.text("SELECT phone_encrypted, phone_hash FROM participants")).one()
    assert b"5550101" not in bytes(raw.phone_encrypted)
    assert "5550101" not in raw.phone_hash
    participant = study.participants[0]
    assert participant.phone == "+12025550101"
