import json
import stat

import pytest

from eas.config import ConfigurationError, build_config


def test_development_generates_secrets_once_and_reuses_them(tmp_path, monkeypatch):
    for name in ("EAS_SECRET_KEY", "EAS_ENCRYPTION_KEYS", "EAS_LOOKUP_KEY", "EAS_ENV"):
        monkeypatch.delenv(name, raising=False)
    first = build_config(tmp_path)
    second = build_config(tmp_path)
    for key in ("SECRET_KEY", "EAS_ENCRYPTION_KEYS", "EAS_LOOKUP_KEY"):
        assert first[key] and first[key] == second[key]
    secrets_file = tmp_path / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert json.loads(secrets_file.read_text())["lookup_key"] == first["EAS_LOOKUP_KEY"]
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'eas.sqlite3'}"


def test_production_refuses_to_start_without_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("EAS_ENV", "production")
    monkeypatch.delenv("EAS_SECRET_KEY", raising=False)
    monkeypatch.setenv("EAS_ENCRYPTION_KEYS", "k")
    monkeypatch.delenv("EAS_LOOKUP_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="EAS_SECRET_KEY, EAS_LOOKUP_KEY"):
        build_config(tmp_path)
    assert not (tmp_path / "secrets.json").exists()


def test_environment_is_read_and_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("EAS_DATABASE_URL", "postgresql+psycopg://db/eas")
    monkeypatch.setenv("EAS_DEFAULT_PHONE_REGION", "DE")
    config = build_config(tmp_path, {"EAS_DEFAULT_PHONE_REGION": "GB"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/eas"
    assert config["EAS_DEFAULT_PHONE_REGION"] == "GB"


def test_twilio_needs_credentials_and_a_sender(tmp_path):
    with pytest.raises(ConfigurationError) as missing:
        build_config(tmp_path, {"EAS_SMS_PROVIDER": "twilio"})
    assert str(missing.value) == (
        "EAS_SMS_PROVIDER=twilio needs EAS_TWILIO_ACCOUNT_SID, EAS_TWILIO_AUTH_TOKEN, "
        "EAS_TWILIO_MESSAGING_SERVICE_SID or EAS_TWILIO_FROM"
    )
    config = build_config(
        tmp_path,
        {
            "EAS_SMS_PROVIDER": "twilio",
            "EAS_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "EAS_TWILIO_AUTH_TOKEN": "token",
            "EAS_TWILIO_FROM": "+15005550006",
        },
    )
    assert config["EAS_TWILIO_FROM"] == "+15005550006"


def test_an_unknown_sms_provider_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="must be 'simulator' or 'twilio', not 'nexmo'"):
        build_config(tmp_path, {"EAS_SMS_PROVIDER": "nexmo"})
