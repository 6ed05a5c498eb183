"""Steady traffic for the local runtime: invocations of an alias at an exact rate in virtual time.

Public API:

    Traffic(data_plane, clock, function_name, qualifier="live", *, rate_per_second=5.0, seed=11,
            payload_factory=order_payload, record_factory=order_payload, drive_streams=True,
            stream_interval_seconds=10.0)
        .start() -> Traffic / .stop() / context manager
        .catch_up(until=None)       generate everything due up to `until` (default: the clock's now)
        .sent -> dict[str, int]      invocations per executed version
        .failed -> dict[str, int]    function errors per executed version
        .throttled: int              429s
        .snapshot() -> TrafficCounts  a consistent copy of the counters
        and, as a rollgate_local.virtual_time Timeline: next_instant() -> float | None, fire(instant)

Invocation i (i = 1, 2, ...) is due at start + i / rate, so 5 per second for 120 s is exactly 600.
Traffic is *pulled*: each due invocation is made at its own instant, routed by the alias weights in
force at that instant and stamped with it. On the virtual clock it is a timeline: the clock fires
each invocation (with now = its instant) before it moves past it, so there is no thread, and alias
changes and metric reads always see everything due before them. On a scaled clock (`rollgate local
serve`, a person watching) a thread catches up every few real milliseconds, and the runtime catches
up before every metric read and alias change (rollgate_local.bridge.set_traffic_catch_up). The traffic
calls the data plane directly (no HTTP, no boto3). With `drive_streams` it also feeds the function's
stream consumers a synthetic batch every `stream_interval_seconds` of virtual time.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from rollgate_local.data_plane import LambdaDataPlane, LambdaServiceError
from rollgate_local.sample_app import order_payload

LOG = logging.getLogger(__name__)
_CATCH_UP_PAUSE = 0.02  # real seconds between catch-ups of the scaled clock's thread


@dataclass(frozen=True)
class TrafficCounts:
    sent: dict[str, int]
    failed: dict[str, int]
    throttled: int

    @property
    def total(self) -> int:
        return sum(self.sent.values())


class Traffic:
    def __init__(
        self,
        data_plane: LambdaDataPlane,
        clock: Any,
        function_name: str,
        qualifier: str | None = "live",
        *,
        rate_per_second: float = 5.0,
        seed: int = 11,
        payload_factory: Callable[[random.Random], Any] = order_payload,
        record_factory: Callable[[random.Random], Any] = order_payload,
        drive_streams: bool = True,
        stream_interval_seconds: float = 10.0,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.data_plane = data_plane
        self.clock = clock
        self.function_name = function_name
        self.qualifier = qualifier
        self.rate_per_second = rate_per_second
        self.payload_factory = payload_factory
        # stream records come from producers upstream, not from the clients that call the API
        self.record_factory = record_factory
        self.drive_streams = drive_streams
        self.stream_interval_seconds = stream_interval_seconds
        self._rng = random.Random(seed)
        self._lock = threading.RLock()  # one invocation at a time, in instant order
        self._sent: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._throttled = 0
        self._origin: float | None = None
        self._issued = 0  # invocations made
        self._batches = 0  # stream batches driven
        self._running = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> Traffic:
        if self._running:
            return self
        self._origin = self.clock.timestamp()
        self._running = True
        if getattr(self.clock, "virtual", False):
            self.clock.add_timeline(self)
        else:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=f"traffic-{self.function_name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after everything due by now (nothing later is made)."""
        if not self._running:
            return
        self.catch_up()
        self._running = False
        if getattr(self.clock, "virtual", False):
            self.clock.remove_timeline(self)
        else:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
                self._thread = None

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def started_at(self) -> datetime | None:
        return None if self._origin is None else datetime.fromtimestamp(self._origin, tz=UTC)

    # ---- counters ----------------------------------------------------------------------------
    @property
    def sent(self) -> dict[str, int]:
        return self.snapshot().sent

    @property
    def failed(self) -> dict[str, int]:
        return self.snapshot().failed

    @property
    def throttled(self) -> int:
        return self.snapshot().throttled

    def snapshot(self) -> TrafficCounts:
        with self._lock:
            return TrafficCounts(dict(self._sent), dict(self._failed), self._throttled)

    # ---- what is due when ----------------------------------------------------------------------
    def _next_invocation(self) -> float:
        assert self._origin is not None
        return self._origin + (self._issued + 1) / self.rate_per_second

    def _next_batch(self) -> float | None:
        if not self.drive_streams:
            return None
        assert self._origin is not None
        return self._origin + (self._batches + 1) * self.stream_interval_seconds

    def next_instant(self) -> float | None:
        if not self._running:
            return None
        batch = self._next_batch()
        invocation = self._next_invocation()
        return invocation if batch is None else min(invocation, batch)

    def fire(self, instant: float) -> None:
        """Make what is due at `instant` (an invocation before a stream batch at the same instant)."""
        with self._lock:
            if self._next_invocation() <= instant:
                self._issued += 1
                self._send(datetime.fromtimestamp(instant, tz=UTC))
                return
            batch = self._next_batch()
            if batch is not None and batch <= instant:
                self._batches += 1
                try:
                    self.data_plane.drive_stream_consumers(
                        self.function_name,
                        at=datetime.fromtimestamp(instant, tz=UTC),
                        record_factory=self.record_factory,
                    )
                except Exception:
                    LOG.warning("stream consumer delivery failed", exc_info=True)

    def catch_up(self, until: float | None = None) -> None:
        """Make everything due up to `until` (default: now), each at its own instant."""
        if not self._running:
            return
        until = self.clock.timestamp() if until is None else until
        with self._lock:
            while True:
                instant = self.next_instant()
                if instant is None or instant > until:
                    return
                self.fire(instant)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.catch_up()
            time.sleep(_CATCH_UP_PAUSE)

    def _send(self, at: datetime) -> None:
        payload = self.payload_factory(self._rng)
        try:
            result = self.data_plane.invoke(self.function_name, self.qualifier, payload, at=at)
        except LambdaServiceError as error:
            if error.status == 429:
                self._throttled += 1
            else:
                self._failed["?"] += 1
            return
        except Exception:
            LOG.warning("traffic invocation failed", exc_info=True)
            self._failed["?"] += 1
            return
        version = result.executed_version or "?"
        self._sent[version] += 1
        if result.function_error:
            self._failed[version] += 1
