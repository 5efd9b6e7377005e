"""Real dispatcher processes: killed or stopped mid-burst, and two at once."""

import os
import signal
from datetime import UTC, datetime, timedelta

import pytest

from tests.databases import temporary_database
from tests.delivery.burst import DELIVERED, DUPLICATED, OPEN, SENT, TICKED, prepare_burst, stop

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_kill_9_mid_burst_loses_nothing_and_sends_nothing_twice(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        burst = prepare_burst(url, tmp_path, prompts=3000)
        first = burst.start_dispatcher(tmp_path / "a")
        delivered = burst.wait_for(DELIVERED, lambda n: n >= 600, timeout=60)
        os.killpg(first.pid, signal.SIGKILL)  # no chance to clean up
        first.wait()
        assert 600 <= delivered < burst.prompts, "the burst must be cut in the middle"
        assert burst.count(OPEN) > 0

        second = burst.start_dispatcher(tmp_path / "b")
        try:
            burst.wait_for(OPEN, lambda n: n == 0, timeout=120)
        finally:
            stop(second)
        assert burst.count(OPEN) == 0
        assert burst.count(SENT) == burst.prompts
        assert burst.count(DELIVERED) == burst.prompts
        assert burst.count(DUPLICATED) == 0


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_dispatchers_drain_one_burst_without_duplicates(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        # Due only once both run: one starting up late must not find the burst drained.
        later = datetime.now(UTC) + timedelta(hours=1)
        burst = prepare_burst(url, tmp_path, prompts=3000, first_due=later)
        processes = [burst.start_dispatcher(tmp_path / name) for name in ("a", "b")]
        try:
            assert burst.wait_for(TICKED, lambda n: n == 2, timeout=60) == 2
            burst.make_due()
            burst.wait_for(OPEN, lambda n: n == 0, timeout=120)
        finally:
            for process in processes:
                stop(process)
        assert burst.count(SENT) == burst.count(DELIVERED) == burst.prompts
        assert burst.count(DUPLICATED) == 0
        shares = burst.count("SELECT count(*) FROM dispatcher_heartbeats WHERE sent > 0")
        assert shares == 2, "both dispatchers took part"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_batch_that_outlasts_its_lease_is_not_sent_twice_by_two_dispatchers(backend, tmp_path):
    """Batches that take longer to send than the lease, two dispatchers: the claims are renewed
    while sending, and no call starts that could outlast its claim (the take-over raced the
    sends and sent some again under a new key)."""
    settings = {
        "EAS_SIMULATOR_LATENCY_MS": 300,
        "EAS_DISPATCH_LEASE_SECONDS": 3,
        "EAS_DISPATCH_WORKERS": 4,
        "EAS_DISPATCH_BATCH": 50,
    }
    with temporary_database(backend, tmp_path) as url:
        burst = prepare_burst(url, tmp_path, prompts=300)
        processes = [burst.start_dispatcher(tmp_path / name, **settings) for name in ("a", "b")]
        try:
            burst.wait_for(OPEN, lambda n: n == 0, timeout=120)
        finally:
            for process in processes:
                stop(process)
        assert burst.count(SENT) == burst.count(DELIVERED) == burst.prompts
        assert burst.count(DUPLICATED) == 0
