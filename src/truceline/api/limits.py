"""What keeps one client from stalling everyone: rate limits, and a pool of its own for
long reads.

* Every request that needs a key (or, with open reads, comes from one client address)
  counts against a moving-window rate limit (``limits``); beyond it: 429 with
  ``Retry-After``.
* A long read (an export, an ``as_of`` status, a big page, a verify) also takes one of
  its holder's few long-request slots, and runs on a small thread pool of its own, so
  that appends (on the event loop and the writer thread) and short reads (FastAPI's
  threadpool) never queue behind it. ``GET /v1/health`` takes no slot and no pool.

Measured on 2 cores before these limits: 40 parallel 1,000-entry log pages pushed a
single append's p50 from 15 ms to 3.2 s, since every worker thread contends for the
interpreter with the event loop; two long-read threads leave it most of a core.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Generic, TypeVar

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from truceline.api.problems import Problem
from truceline.application.keys import Key
from truceline.settings import Settings, SettingsError

T = TypeVar("T")

# JSON pages up to this many items are short reads; bigger ones are long (README).
SHORT_PAGE = 100


def holder_of(request: Request, key: Key | None) -> str:
    """Whom a request counts against: its key, or without one its client address."""
    if key is not None:
        return f"key:{key.key_id}"
    return f"address:{request.client.host if request.client else 'unknown'}"


def _rates(name: str, value: str) -> list[RateLimitItem]:
    if not value.strip():
        return []
    try:
        return parse_many(value)
    except ValueError:
        raise SettingsError(
            f"{name} {value!r} is not a rate limit: write e.g. '100/second;3000/minute', "
            "or leave it empty for none"
        ) from None


class Slots:
    """In-flight requests counted by holder, with a cap per holder and per process.
    Used on the event loop only, so it needs no lock."""

    def __init__(self, per_process: int, per_holder: int):
        self.per_process = per_process
        self.per_holder = per_holder
        self.open: Counter[str] = Counter()

    def take(self, holder: str) -> str | None:
        """Count one more for ``holder``; or, with nothing counted, say which cap
        refuses it: ``"holder"`` or ``"process"``."""
        if self.open[holder] >= self.per_holder:
            return "holder"
        if self.open.total() >= self.per_process:
            return "process"
        self.open[holder] += 1
        return None

    def give_back(self, holder: str) -> None:
        self.open[holder] -= 1
        if self.open[holder] <= 0:
            del self.open[holder]


class RequestLimits:
    """The rate limits and the long-read pool of one server process."""

    def __init__(self, settings: Settings):
        self.key_rates = _rates("TRUCELINE_RATE_LIMIT", settings.rate_limit)
        self.address_rates = _rates("TRUCELINE_OPEN_RATE_LIMIT", settings.open_rate_limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self.long_slots = Slots(settings.max_long_requests, settings.max_long_requests_per_key)
        self._pool = ThreadPoolExecutor(settings.long_read_threads, "truceline-long")

    def count(self, holder: str) -> None:
        """Count one request against ``holder``'s rate limits: 429 beyond them."""
        rates = self.key_rates if holder.startswith("key:") else self.address_rates
        for rate in rates:
            if not self._limiter.hit(rate, holder):
                raise Problem(
                    429,
                    f"more than {rate.amount} requests per {_per(rate)} from this "
                    f"{'key' if holder.startswith('key:') else 'client address'}",
                    title="Too many requests",
                    kind="rate-limited",
                    headers={"Retry-After": str(self._retry_after(rate, holder))},
                )

    def _retry_after(self, rate: RateLimitItem, holder: str) -> int:
        reset = self._limiter.get_window_stats(rate, holder).reset_time
        return max(1, math.ceil(reset - time.time()))

    async def run_long(self, holder: str, work: Callable[[], T]) -> T:
        """Run a long read on the long-read pool, in one of ``holder``'s slots."""
        refused = self.long_slots.take(holder)
        if refused == "holder":
            raise Problem(
                429,
                f"at most {self.long_slots.per_holder} long requests (exports, as_of "
                "statuses, big pages, verify) at once per key, or per client address "
                "with open reads: wait for one to finish",
                title="Too many requests",
                kind="too-many-long-requests",
                headers={"Retry-After": "2"},
            )
        if refused == "process":
            raise Problem(
                503,
                f"this server is answering its {self.long_slots.per_process} long "
                "requests: try again shortly",
                kind="too-many-long-requests",
                headers={"Retry-After": "2"},
            )
        try:
            # The request's context goes along (the snapshot header's note lives in it).
            context = copy_context()
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, context.run, work)
        finally:
            self.long_slots.give_back(holder)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class SingleRun(Generic[T]):
    """At most one run of a piece of work at a time: who asks while one runs awaits
    that run's answer (or its error) rather than start another."""

    def __init__(self) -> None:
        self._running: asyncio.Future[T] | None = None

    async def join(self, start: Callable[[], Awaitable[T]]) -> T:
        if self._running is None:
            running = asyncio.ensure_future(start())
            self._running = running
            running.add_done_callback(lambda _: setattr(self, "_running", None))
        # shield: a caller that goes away does not cancel the run the others await.
        return await asyncio.shield(self._running)


def _per(rate: RateLimitItem) -> str:
    unit = rate.GRANULARITY.name
    return unit if rate.multiples == 1 else f"{rate.multiples} {unit}s"
