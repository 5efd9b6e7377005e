"""Links in texts and from `eas participants link` point at EAS_PUBLIC_BASE_URL, or else at
the address `eas run` actually serves on, never at a guess (`make run PORT=5101` gave
http://127.0.0.1:5000 links)."""

from __future__ import annotations

import pytest

from eas.delivery.cli import _announce_address
from eas.surveys.links import personal_link


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """An instance folder of the test's own, and no address configured."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    for key in ("EAS_PUBLIC_BASE_URL", "EAS_SERVED_AT"):
        monkeypatch.setitem(app.config, key, None)  # and as they were after the test
    return tmp_path


def test_eas_run_on_another_port_gives_links_to_that_port(
    app, db, clock, runner, participant, instance
):
    _announce_address(app, "127.0.0.1", 5101)
    assert personal_link(participant, clock.now()).startswith("http://127.0.0.1:5101/me/")
    # Another command beside the server (a CLI process of its own) finds the address too.
    app.config["EAS_SERVED_AT"] = None
    result = runner.invoke(args=["participants", "link", participant.study.slug, "P1"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5101/me/" in result.output


def test_a_server_on_every_interface_gives_loopback_links(app, db, clock, participant, instance):
    _announce_address(app, "0.0.0.0", 8080)
    assert personal_link(participant, clock.now()).startswith("http://127.0.0.1:8080/me/")


def test_the_public_address_wins(app, db, clock, participant, instance, monkeypatch):
    monkeypatch.setitem(app.config, "EAS_PUBLIC_BASE_URL", "https://ema.example.org/")
    _announce_address(app, "127.0.0.1", 5101)
    assert personal_link(participant, clock.now()).startswith("https://ema.example.org/me/")
    assert not (instance / "served-at.txt").exists()
