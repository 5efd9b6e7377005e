from eas.delivery.ratelimit import RateLimiter


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_sends_are_spread_to_the_provisioned_rate():
    time = FakeTime()
    limiter = RateLimiter(2, burst=1, monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(5):
        limiter.acquire()
    # One at once, then one every half second.
    assert round(time.now - 100.0, 6) == 2.0
    assert all(round(s, 6) == 0.5 for s in time.slept)


def test_a_burst_then_the_rate():
    time = FakeTime()
    limiter = RateLimiter(10, burst=5, monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(5):
        limiter.acquire()
    assert time.slept == []
    limiter.acquire()
    assert round(time.now - 100.0, 6) == 0.1


def test_zero_means_unlimited():
    time = FakeTime()
    limiter = RateLimiter(0, monotonic=time.monotonic, sleep=time.sleep)
    for _ in range(1000):
        limiter.acquire()
    assert time.slept == []
