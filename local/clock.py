"""The one clock of the embedded local runtime.

Public API:

    LocalClock(real_origin, virtual_origin, speed)   a rollgate.aws.clock.ScaledClock that can sleep
        .now() -> datetime                      virtual UTC now (timezone-aware)
        .timestamp() -> float                   virtual now, epoch seconds
        .sleep(virtual_seconds) -> None         really sleeps virtual_seconds / speed
        .seconds_to_real(virtual_seconds) -> float
    clock_from_env(environ) -> Clock            (from rollgate.aws.clock) what a handler reads
    start_clock(speed: float) -> LocalClock     virtual origin = real now
    clock_env(clock) -> dict[str, str]          the ROLLGATE_CLOCK_* variables describing `clock`

Virtual time = virtual_origin + (real now - real_origin) * speed, all in epoch seconds. Wait
states, metric timestamps and handlers all read this one clock, so a production-sized bake runs in
seconds. Handlers in the local data plane receive it as ROLLGATE_CLOCK_SPEED,
ROLLGATE_CLOCK_REAL_ORIGIN and ROLLGATE_CLOCK_VIRTUAL_ORIGIN (decimal strings; the origins are
epoch seconds) and rebuild it with `rollgate.aws.clock.clock_from_env`: the same class on both
sides, so the runtime and the tasks cannot disagree about "now".
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from rollgate.aws.clock import ScaledClock, clock_from_env

__all__ = ["ENV_REAL_ORIGIN", "ENV_SPEED", "ENV_VIRTUAL_ORIGIN", "LocalClock", "ScaledClock", "clock_env",
           "clock_from_env", "start_clock"]

ENV_SPEED = "ROLLGATE_CLOCK_SPEED"
ENV_REAL_ORIGIN = "ROLLGATE_CLOCK_REAL_ORIGIN"
ENV_VIRTUAL_ORIGIN = "ROLLGATE_CLOCK_VIRTUAL_ORIGIN"


class LocalClock(ScaledClock):
    """The runtime's clock, plus the one thing Lambda code must never do: block. Demos and tests
    use `sleep` to let virtual time pass while traffic runs (the tasks' waits are Wait states)."""

    def sleep(self, virtual_seconds: float) -> None:
        real = self.seconds_to_real(virtual_seconds)
        if real > 0:
            time.sleep(real)


def start_clock(speed: float) -> LocalClock:
    """A clock whose virtual time starts at the real now and runs `speed` times faster."""
    real = time.time()
    return LocalClock(real_origin=real, virtual_origin=real, speed=speed)


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def clock_env(clock: Any) -> dict[str, str]:
    """The ROLLGATE_CLOCK_* variables that make `clock_from_env` rebuild `clock`."""
    return {
        ENV_SPEED: repr(float(clock.speed)),
        ENV_REAL_ORIGIN: repr(_epoch(clock.real_origin)),
        ENV_VIRTUAL_ORIGIN: repr(_epoch(clock.virtual_origin)),
    }
