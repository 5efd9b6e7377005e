"""Real dispatcher processes: killed mid-burst, and two at once on PostgreSQL."""

import os
import signal

import pytest

from tests.databases import temporary_database
from tests.delivery.burst import DELIVERED, DUPLICATED, OPEN, SENT, prepare_burst, stop


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
        burst = prepare_burst(url, tmp_path, prompts=3000)
        processes = [burst.start_dispatcher(tmp_path / name) for name in ("a", "b")]
        try:
            burst.wait_for(OPEN, lambda n: n == 0, timeout=120)
        finally:
            for process in processes:
                stop(process)
        assert burst.count(SENT) == burst.count(DELIVERED) == burst.prompts
        assert burst.count(DUPLICATED) == 0
        shares = burst.count("SELECT count(*) FROM dispatcher_heartbeats WHERE sent > 0")
        assert shares == 2, "both dispatchers took part"
