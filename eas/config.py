"""Configuration. This is the only module that reads the environment (``EAS_*`` variables).

Secrets that a fresh development checkout does not have yet (the session secret, the data keys)
are generated once into the instance folder, so ``make run`` works without any set-up and the
demo database stays readable across restarts. In production (``EAS_ENV=production``) they must
be given explicitly; the app refuses to start otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

ENV_PREFIX = "EAS_"

#: Settings read from the environment: (config key, environment variable, default).
_ENVIRONMENT_SETTINGS: tuple[tuple[str, str, str | None], ...] = (
    ("EAS_ENV", "EAS_ENV", "development"),
    ("SQLALCHEMY_DATABASE_URI", "EAS_DATABASE_URL", None),
    ("SECRET_KEY", "EAS_SECRET_KEY", None),
    ("EAS_ENCRYPTION_KEYS", "EAS_ENCRYPTION_KEYS", None),
    ("EAS_LOOKUP_KEY", "EAS_LOOKUP_KEY", None),
    ("EAS_DEFAULT_PHONE_REGION", "EAS_DEFAULT_PHONE_REGION", "US"),
    ("EAS_PUBLIC_BASE_URL", "EAS_PUBLIC_BASE_URL", None),
    ("EAS_TWILIO_ACCOUNT_SID", "EAS_TWILIO_ACCOUNT_SID", None),
    ("EAS_TWILIO_AUTH_TOKEN", "EAS_TWILIO_AUTH_TOKEN", None),
    ("EAS_TWILIO_MESSAGING_SERVICE_SID", "EAS_TWILIO_MESSAGING_SERVICE_SID", None),
    ("EAS_TWILIO_FROM", "EAS_TWILIO_FROM", None),
    # Only for tests against a mock of Twilio's API (Prism, a faulty fake).
    ("EAS_TWILIO_API_BASE_URL", "EAS_TWILIO_API_BASE_URL", None),
    # How long a call to Twilio may wait to connect, and then for each part of the answer.
    ("EAS_TWILIO_TIMEOUT_SECONDS", "EAS_TWILIO_TIMEOUT_SECONDS", "10"),
    # Safety alerts by e-mail: who, and through which SMTP server.
    ("EAS_ALERT_EMAILS", "EAS_ALERT_EMAILS", None),
    ("EAS_ALERT_BACKUP_EMAILS", "EAS_ALERT_BACKUP_EMAILS", None),
    # The on-call contact's quiet hours ("22:00-07:00", in EAS_ALERT_TIMEZONE): alerts then go
    # to the backup at once; and minutes without acknowledgement before the backup is told.
    ("EAS_ALERT_QUIET_HOURS", "EAS_ALERT_QUIET_HOURS", None),
    ("EAS_ALERT_TIMEZONE", "EAS_ALERT_TIMEZONE", "UTC"),
    ("EAS_ALERT_ESCALATE_MINUTES", "EAS_ALERT_ESCALATE_MINUTES", "60"),
    ("EAS_SMTP_HOST", "EAS_SMTP_HOST", None),
    ("EAS_SMTP_PORT", "EAS_SMTP_PORT", "25"),
    ("EAS_SMTP_USER", "EAS_SMTP_USER", None),
    ("EAS_SMTP_PASSWORD", "EAS_SMTP_PASSWORD", None),
    ("EAS_SMTP_FROM", "EAS_SMTP_FROM", None),
    ("EAS_SMTP_STARTTLS", "EAS_SMTP_STARTTLS", "0"),
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted (count).
    ("EAS_TRUSTED_PROXIES", "EAS_TRUSTED_PROXIES", "0"),
    # Delivery: "simulator" (the embedded default: messages land in the database) or "twilio".
    ("EAS_SMS_PROVIDER", "EAS_SMS_PROVIDER", "simulator"),
    ("EAS_SEND_RATE_PER_SECOND", "EAS_SEND_RATE_PER_SECOND", "0"),
    ("EAS_DISPATCH_INTERVAL_SECONDS", "EAS_DISPATCH_INTERVAL_SECONDS", "1"),
    ("EAS_DISPATCH_BATCH", "EAS_DISPATCH_BATCH", "200"),
    ("EAS_DISPATCH_WORKERS", "EAS_DISPATCH_WORKERS", "32"),
    ("EAS_DISPATCH_LEASE_SECONDS", "EAS_DISPATCH_LEASE_SECONDS", "60"),
    ("EAS_SIMULATOR_LATENCY_MS", "EAS_SIMULATOR_LATENCY_MS", "0"),
)

#: Settings converted from text to numbers (name: type).
_NUMERIC_SETTINGS = {
    "EAS_SEND_RATE_PER_SECOND": float,
    "EAS_TWILIO_TIMEOUT_SECONDS": float,
    "EAS_DISPATCH_INTERVAL_SECONDS": float,
    "EAS_DISPATCH_BATCH": int,
    "EAS_DISPATCH_WORKERS": int,
    "EAS_DISPATCH_LEASE_SECONDS": int,
    "EAS_SIMULATOR_LATENCY_MS": int,
    "EAS_TRUSTED_PROXIES": int,
    "EAS_SMTP_PORT": int,
    "EAS_ALERT_ESCALATE_MINUTES": int,
}

_GENERATED_SECRETS_FILE = "secrets.json"
#: Where `eas run` notes the address it serves on, for links made by other commands.
_SERVED_AT_FILE = "served-at.txt"


class ConfigurationError(RuntimeError):
    """The configuration cannot run the platform (a missing production secret, say)."""


@dataclass(frozen=True)
class _GeneratedSecrets:
    secret_key: str
    encryption_key: str
    lookup_key: str

    @classmethod
    def new(cls) -> _GeneratedSecrets:
        return cls(
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            lookup_key=secrets.token_urlsafe(32),
        )


def _load_or_create_dev_secrets(instance_path: Path) -> _GeneratedSecrets:
    path = instance_path / _GENERATED_SECRETS_FILE
    if path.exists():
        return _GeneratedSecrets(**json.loads(path.read_text()))
    generated = _GeneratedSecrets.new()
    instance_path.mkdir(parents=True, exist_ok=True)
    # Created private from the start: these keys decrypt participants' phone numbers.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(generated.__dict__, fh, indent=2)
    return generated


def instance_path_from_environment() -> str | None:
    """Where the database and generated secrets live (`EAS_INSTANCE_PATH`; default: ./instance
    beside the package for a source checkout)."""
    return os.environ.get("EAS_INSTANCE_PATH")


def build_config(instance_path: str | os.PathLike[str], overrides: dict | None = None) -> dict:
    """Return the app configuration: defaults, then the environment, then ``overrides``."""
    instance = Path(instance_path)
    config: dict = {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'eas.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "JSON_SORT_KEYS": False,
        "EAS_SMS_MAX_SEGMENTS_DEFAULT": 2,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # The largest request body (a participants CSV of 100,000 rows is about 6 MB); the
        # webhooks take far less (`eas.sms.views`).
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    }
    for key, variable, default in _ENVIRONMENT_SETTINGS:
        value = os.environ.get(variable, default)
        if value is not None:
            config[key] = value
    config.update(overrides or {})
    # Every engine, whatever else it is given: a database error's message would otherwise carry
    # its statement's values (participants' texts and numbers) into logs and tracebacks.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **config["SQLALCHEMY_ENGINE_OPTIONS"],
        "hide_parameters": True,
    }
    config.setdefault("SESSION_COOKIE_SECURE", config["EAS_ENV"] == "production")
    for key, kind in _NUMERIC_SETTINGS.items():
        try:
            config[key] = kind(config[key])
        except (TypeError, ValueError):
            raise ConfigurationError(f"{key} must be a number, not {config[key]!r}") from None

    if config["EAS_SMS_PROVIDER"] not in ("simulator", "twilio"):
        raise ConfigurationError(
            f"EAS_SMS_PROVIDER must be 'simulator' or 'twilio', not {config['EAS_SMS_PROVIDER']!r}"
        )
    if config["EAS_SMS_PROVIDER"] == "twilio":
        needed = [
            key
            for key in ("EAS_TWILIO_ACCOUNT_SID", "EAS_TWILIO_AUTH_TOKEN")
            if not config.get(key)
        ]
        if not (config.get("EAS_TWILIO_MESSAGING_SERVICE_SID") or config.get("EAS_TWILIO_FROM")):
            needed.append("EAS_TWILIO_MESSAGING_SERVICE_SID or EAS_TWILIO_FROM")
        if needed:
            raise ConfigurationError(f"EAS_SMS_PROVIDER=twilio needs {', '.join(needed)}")

    missing = [
        key
        for key in ("SECRET_KEY", "EAS_ENCRYPTION_KEYS", "EAS_LOOKUP_KEY")
        if not config.get(key)
    ]
    if missing:
        if config["EAS_ENV"] == "production":
            names = ", ".join(
                key if key.startswith("EAS_") else "EAS_SECRET_KEY" for key in missing
            )
            raise ConfigurationError(f"production needs these settings: {names}")
        generated = _load_or_create_dev_secrets(instance)
        for key, value in (
            ("SECRET_KEY", generated.secret_key),
            ("EAS_ENCRYPTION_KEYS", generated.encryption_key),
            ("EAS_LOOKUP_KEY", generated.lookup_key),
        ):
            if not config.get(key):
                config[key] = value
    return config


def running_under_gunicorn() -> bool:
    """Gunicorn sets SERVER_SOFTWARE in its workers: a dispatcher there runs once per worker."""
    return "gunicorn" in os.environ.get("SERVER_SOFTWARE", "")


def is_reloader_parent(use_reloader: bool) -> bool:
    """Werkzeug's reloader runs the app in a child process (WERKZEUG_RUN_MAIN=true); the parent
    only watches files and must not start a dispatcher of its own."""
    return use_reloader and os.environ.get("WERKZEUG_RUN_MAIN") != "true"


def remember_served_at(instance_path: str | os.PathLike[str], url: str) -> None:
    """Note the address `eas run` serves on: links made without EAS_PUBLIC_BASE_URL (in
    texts, by `eas participants link`) point at it rather than at a guess."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    (instance / _SERVED_AT_FILE).write_text(url + "\n")


def served_at(instance_path: str | os.PathLike[str]) -> str | None:
    """The address `eas run` last served on from this instance folder, if it did."""
    try:
        return (Path(instance_path) / _SERVED_AT_FILE).read_text().strip() or None
    except OSError:
        return None
