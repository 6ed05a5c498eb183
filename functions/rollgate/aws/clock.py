"""The clock of the task Lambdas: the real UTC clock, unless the process that runs them provides one.

In Lambda nothing ever calls `set_clock_provider`: every task reads SystemClock. The embedded local
runtime (rollgate_local/) runs the tasks in its own process on a virtual clock; it installs that clock here
when it starts and clears it when it stops, so the interpreter's Wait states, the metrics and the
tasks agree on "now". The package carries no clock of its own beyond the system one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rollgate.domain.shared.ports import Clock


class SystemClock:
    """The real UTC clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


_provider: Callable[[], Clock] | None = None


def set_clock_provider(provider: Callable[[], Clock] | None) -> None:
    """Make `current_clock()` return `provider()` (None: the system clock again). For a host that
    runs the tasks in process (the local runtime); production never calls it."""
    global _provider
    _provider = provider


def current_clock() -> Clock:
    """The provided clock, else SystemClock."""
    return _provider() if _provider is not None else SystemClock()
