"""Passwords hash cheaply in tests (TESTING) and as before everywhere else; an account signs in
whichever parameters its hash was made with."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from eas.users import operations
from eas.users.models import User
from tests.helpers import PASSWORD, sign_in


def test_tests_hash_cheaply_and_real_accounts_as_before(app, monkeypatch):
    with app.app_context():
        cheap = extract_parameters(operations._password_hasher().hash(PASSWORD))
        assert (cheap.time_cost, cheap.memory_cost, cheap.parallelism) == (1, 8, 1)
        monkeypatch.setitem(app.config, "TESTING", False)
        real = extract_parameters(operations._password_hasher().hash(PASSWORD))
    default = PasswordHasher()
    assert (real.type, real.time_cost, real.memory_cost, real.parallelism) == (
        default.type,
        default.time_cost,
        default.memory_cost,
        default.parallelism,
    )
    assert real.memory_cost >= 64 * 1024  # KiB: never the test parameters


def _signs_in(app, password: str = PASSWORD) -> bool:
    """Whether the password signs in (a redirect; a refusal is the page again, with a 200)."""
    return sign_in(app.test_client(), password=password).status_code == 302


def test_a_hash_made_with_other_parameters_still_signs_in(app, db, make_user, monkeypatch):
    user = make_user()
    assert _signs_in(app)  # a cheap hash, checked by the cheap hasher
    # An account made outside the tests (the real parameters), signing in to a test app.
    user.password_hash = PasswordHasher().hash(PASSWORD)
    db.session.commit()
    assert _signs_in(app)
    assert not _signs_in(app, "not the password")
    # And a cheap hash, checked by an app that hashes for real.
    user.password_hash = operations._test_hasher.hash(PASSWORD)
    db.session.commit()
    monkeypatch.setitem(app.config, "TESTING", False)
    assert _signs_in(app)
    assert not _signs_in(app, "not the password")
    assert db.session.get(User, user.id).password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
