"""The data plane's internal records: updates, metric aggregates, environments, streams, loaded
code, allocations, a function's settings.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any


@dataclass
class _Update:
    until: datetime
    failure: tuple[str, str] | None  # (reason, reason_code)


@dataclass
class _Aggregate:
    count: float = 0.0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    distribution: Counter[float] | None = None
    unit: str = "Count"

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        if self.distribution is not None:
            self.distribution[round(value, 2)] += 1


@dataclass(eq=False)
class _Environment:
    """An execution environment of one version: its log stream and what its cold start took."""

    key: tuple[Any, ...]
    stream: str
    init_ms: float
    memory_mb: int
    rng: random.Random  # its logs' ingestion delays, in the order of its invocations
    running: int = 0  # invocations running on it in this process now
    last_start: datetime | None = None
    busy_until: datetime | None = None
    initialised: bool = False

    def free_at(self, when: datetime) -> bool:
        if self.running:
            return False
        return self.last_start is None or self.busy_until is None or not self.last_start < when < self.busy_until


@dataclass
class _StreamState:
    next_batch_at: datetime | None = None
    failing_since: datetime | None = None
    sequence: int = 0


@dataclass
class _Outcome:
    payload: bytes
    function_error: str | None
    duration_ms: float
    log: str
    error_type: str | None = None
    error_message: str | None = None


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


@dataclass
class _LoadedHandler:
    function: Callable[[Any, Any], Any]
    module: ModuleType


@dataclass
class _Allocation:
    """A provisioned-concurrency config: READY from `ready_at`, unless it failed."""

    requested: int
    modified: datetime
    ready_at: datetime
    failure: str | None = None


@dataclass(frozen=True)
class _Image:
    """What the data plane needs of an image: its files (layer archives, in order) and how to start."""

    layers: tuple[bytes, ...]
    command: tuple[str, ...]
    working_dir: str


@dataclass
class _FunctionSettings:
    update_seconds: float | None = None
    fail_next_update: tuple[str, str] | None = None
    provisioning_seconds: float | None = None
    fail_next_provisioning: str | None = None
    concurrency_limit: int | None = None
    in_flight: list[tuple[datetime, datetime]] = field(default_factory=list)
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=200))
