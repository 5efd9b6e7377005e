from datetime import UTC, datetime, timedelta, timezone

import pytest

from eas.core.clock import SystemClock, VirtualClock, now_utc


def test_virtual_clock_moves_only_when_told():
    clock = VirtualClock(datetime(2026, 3, 8, 6, 59, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    assert clock.advance(timedelta(minutes=2)) == datetime(2026, 3, 8, 7, 1, tzinfo=UTC)


def test_virtual_clock_normalises_to_utc_and_refuses_naive_times():
    clock = VirtualClock(datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))))
    assert clock.now() == datetime(2026, 1, 1, 14, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError):
        VirtualClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 2))


def test_system_clock_is_aware_utc():
    assert SystemClock().now().tzinfo is UTC


def test_app_code_reads_the_installed_clock(app, clock):
    with app.app_context():
        assert now_utc() == clock.now()
        clock.advance(timedelta(days=3))
        assert now_utc() == clock.now()
