"""A request limiter shared by every request of a fetch: at most ``max_requests`` in any window.

police.uk documents a leaky bucket of 15 requests per second with bursts of 30. A token bucket
with burst ``b`` and rate ``r`` lets ``b + r`` requests through in a 1-second window, so to promise
"never more than 15 in any 1-second window" this limiter keeps the times of the last
``max_requests`` requests (a sliding log) and waits until the oldest is ``per`` seconds (plus a
small ``margin`` for network jitter between client and server clocks) old. After an HTTP 429/503,
:meth:`RateLimiter.pause` holds every request until the server's ``Retry-After`` has passed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from gripkit.errors import InputError

MAX_REQUESTS = 15
PER_SECONDS = 1.0


class RateLimiter:
    """At most ``max_requests`` requests in any ``per``-second window, thread-safe.

    Examples
    --------
    >>> limiter = RateLimiter(max_requests=15, per=1.0)
    >>> limiter.acquire()  # returns at once: the log is empty
    """

    def __init__(
        self,
        max_requests: int = MAX_REQUESTS,
        per: float = PER_SECONDS,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_requests < 1:
            raise InputError(f"'max_requests' must be >= 1; received {max_requests}. Pass e.g. 15.")
        if per <= 0 or margin < 0:
            raise InputError(f"'per' must be > 0 and 'margin' >= 0 seconds; received {per} and {margin}.")
        self.max_requests = max_requests
        self.per = per
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._times: deque[float] = deque(maxlen=max_requests)
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.requests = 0

    def acquire(self) -> None:
        """Wait until one more request keeps every window within the limit, and log it."""
        with self._lock:
            while True:
                now = self._clock()
                wait = self._not_before - now
                if len(self._times) == self.max_requests:
                    wait = max(wait, self._times[0] + self.per + self.margin - now)
                if wait <= 0:
                    break
                self._sleep(wait)
            self._times.append(self._clock())
            self.requests += 1

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (the server asked us to back off)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + max(0.0, seconds))
