"""Rate limits for the portal: a sliding window per key (an IP address, a phone, a number).

In-process: each web process counts on its own, so N processes allow up to N times the limit
and a restart forgets. That is enough to stop a script guessing the last four digits of a
phone or flooding intake from one address; a deployment with many processes can put the same
limits in its reverse proxy as well (docs/console.md says so).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from kesu.errors import KesuError


class TooManyRequests(KesuError):
    status = 429
    code = "kesu.rate_limited"


@dataclass
class Limit:
    """At most `count` hits per key within `seconds`."""

    count: int
    seconds: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, now: float) -> None:
        """Count one hit for `key` at `now` (epoch seconds), or raise TooManyRequests."""
        with self._lock:
            if len(self._hits) > 10_000:
                self._forget(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.count:
                raise TooManyRequests(
                    "portal.rate_limited", minutes=max(1, int(self.seconds // 60))
                )
            hits.append(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.seconds]:
            del self._hits[key]


@dataclass
class PortalLimits:
    submit_per_ip: Limit = field(default_factory=lambda: Limit(10, 3600))
    submit_per_phone: Limit = field(default_factory=lambda: Limit(3, 3600))
    track_per_ip: Limit = field(default_factory=lambda: Limit(20, 600))
    track_per_number: Limit = field(default_factory=lambda: Limit(5, 3600))
    rate_per_ip: Limit = field(default_factory=lambda: Limit(20, 600))
