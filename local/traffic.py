"""Steady traffic for the local runtime: a thread invoking an alias at a rate in virtual time.

Public API:

    Traffic(data_plane, clock, function_name, qualifier="live", *, rate_per_second=5.0, seed=11,
            payload_factory=order_payload, drive_streams=True)
        .start() -> Traffic / .stop() (joins) / context manager
        .sent -> dict[str, int]      invocations per executed version
        .failed -> dict[str, int]    function errors per executed version
        .throttled: int              429s
        .snapshot() -> TrafficCounts  a consistent copy of the counters

The rate is exact in virtual time however slow the machine is: invocations due = rate x virtual
seconds elapsed, and each is stamped (metric timestamp) with its scheduled virtual instant, so a
60-second metric period always holds rate x 60 invocations. The thread calls the data plane
directly (no HTTP, no boto3), so it costs microseconds per invocation. With `drive_streams` it also
feeds the function's stream consumers a synthetic batch every 10 virtual seconds.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from local.data_plane import LambdaDataPlane, LambdaServiceError
from local.sample_app import order_payload

LOG = logging.getLogger(__name__)


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
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._sent: Counter[str] = Counter()
        self._failed: Counter[str] = Counter()
        self._throttled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at: datetime | None = None
        self._issued = 0

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> Traffic:
        if self._thread is None:
            self._started_at = self.clock.now()
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=f"traffic-{self.function_name}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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

    # ---- the loop ----------------------------------------------------------------------------
    def _loop(self) -> None:
        assert self._started_at is not None
        spacing = 1.0 / self.rate_per_second
        pause = min(0.02, self.clock.seconds_to_real(spacing))
        while not self._stop.is_set():
            elapsed = (self.clock.now() - self._started_at).total_seconds()
            due = int(elapsed * self.rate_per_second)
            while self._issued < due and not self._stop.is_set():
                at = self._started_at + timedelta(seconds=self._issued * spacing)
                self._issued += 1
                self._send(at)
            if self.drive_streams:
                try:
                    self.data_plane.drive_stream_consumers(self.function_name, record_factory=self.record_factory)
                except Exception:
                    LOG.warning("stream consumer delivery failed", exc_info=True)
            time.sleep(pause)

    def _send(self, at: datetime) -> None:
        payload = self.payload_factory(self._rng)
        try:
            result = self.data_plane.invoke(self.function_name, self.qualifier, payload, at=at)
        except LambdaServiceError as error:
            with self._lock:
                if error.status == 429:
                    self._throttled += 1
                else:
                    self._failed["?"] += 1
            return
        except Exception:
            LOG.warning("traffic invocation failed", exc_info=True)
            with self._lock:
                self._failed["?"] += 1
            return
        version = result.executed_version or "?"
        with self._lock:
            self._sent[version] += 1
            if result.function_error:
                self._failed[version] += 1
