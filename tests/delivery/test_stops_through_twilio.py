"""A real dispatcher process stopped (SIGTERM) or killed (SIGKILL) in the middle of a burst sent
through Twilio's transport to a faulty fake Twilio. Its own file: the longest process tests,
run beside test_processes.py's by another worker."""

import signal

import pytest

from tests.databases import temporary_database
from tests.delivery.twilio_server import interrupted_burst

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_dispatcher_stopped_mid_burst_through_twilio_loses_and_doubles_nothing(
    backend, how, tmp_path
):
    with temporary_database(backend, tmp_path) as url:
        run = interrupted_burst(url, tmp_path, how, prompts=600)
    assert run.after_stop["sent"] < 600, "the burst must be cut in the middle"
    if how == signal.SIGTERM:
        # Calls under way finish (a second at most here), the rest are handed back: nothing
        # left `sending`, nothing that went out recorded as failed.
        assert run.returncode == 0 and run.stop_seconds < 15, run
        assert run.left_sending == 0
        assert run.after_stop["failed but sent"] == 0
    assert run.final == {
        "sent": 600,
        "failed but sent": 0,
        "unsent, never retried": 0,
        "sent twice": 0,
    }
    assert run.answers["late"] > 0 and run.answers["unavailable"] > 0  # faults were met
