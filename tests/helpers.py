"""Constants and helpers shared by tests across packages: import them from here (never from a
conftest.py or another test module). The fixtures themselves are in tests/conftest.py and
tests/fixtures.py, which pytest shares with every test."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
DEMO_PROTOCOL = ROOT / "protocols" / "ai-connection.yaml"
#: A Wednesday, in the middle of a normal (non-DST-transition) week.
T0 = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)
#: The demo-study participant of the `participant` fixture.
PHONE = "+12025550101"
#: The password of every account `make_user` makes.
PASSWORD = "correct horse battery"


def make_test_config(database_url: str, instance_path: Path) -> dict:
    return {
        # Also what makes passwords hash cheaply (eas.users.operations): tests sign in often.
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "EAS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "EAS_LOOKUP_KEY": "test-lookup-key",
        # Random prompt times drawn the same way every run: a test that depends on where a
        # beep falls passes or fails for good, not one run in twenty.
        "EAS_SCHEDULE_SEED": 2026,
    }


def sign_in(client, email="coord@example.org", password=PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})
