"""The clocks of the embedded local runtime.

Public API:

    virtual_clock(start=None) -> VirtualClock   (rollgate_local.virtual_time) virtual time with autojump: it
        moves only when every actor waits; start = a datetime or epoch seconds (default: the real
        now, down to the whole minute, so metric minutes line up the same way in every run)
    ScaledClock(real_origin, virtual_origin, speed)   virtual = origin + real elapsed x speed
    start_clock(speed) -> ScaledClock           virtual origin = real now
    LocalClock                                  either of them; what both offer:
        .now() -> datetime (UTC)  .timestamp() -> float  .sleep(virtual_seconds)
        .wait_on(event, virtual_seconds) -> bool         event.wait for that long in virtual time
        .describe() -> str                               how the clock runs, for people
        .virtual: bool                                   True for the autojump clock

Tests, `make demo` and benchmark-style runs use the virtual clock: the same seed gives the same
verdicts on any machine under any load. Only `rollgate local serve`, where a person watches in real
time, keeps the scaled clock (and a traffic thread). The clock reaches the in-process tasks through
`rollgate.aws.clock.set_clock_provider`, which the runtime sets and clears; the Lambda package has
only the system clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rollgate_local.virtual_time import VirtualClock

__all__ = ["LocalClock", "ScaledClock", "VirtualClock", "start_clock", "virtual_clock"]


class ScaledClock:
    """A clock `speed` times faster than real time: now = virtual_origin + (real now - real_origin) x
    speed (epoch seconds). For `rollgate local serve`, where a person watches."""

    virtual = False

    def __init__(self, real_origin: float, virtual_origin: float, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive (got {speed})")
        self.real_origin = float(real_origin)
        self.virtual_origin = float(virtual_origin)
        self.speed = float(speed)

    def timestamp(self) -> float:
        return self.virtual_origin + (time.time() - self.real_origin) * self.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def seconds_to_real(self, virtual_seconds: float) -> float:
        return max(0.0, float(virtual_seconds)) / self.speed

    def sleep(self, virtual_seconds: float) -> None:
        time.sleep(self.seconds_to_real(virtual_seconds))

    def wait_on(self, event: Any, virtual_seconds: float | None) -> bool:
        return bool(event.wait(None if virtual_seconds is None else self.seconds_to_real(virtual_seconds)))

    def describe(self) -> str:
        return f"clock x{self.speed:g} real time"

    def __repr__(self) -> str:
        return f"ScaledClock(real_origin={self.real_origin}, virtual_origin={self.virtual_origin}, speed={self.speed})"


LocalClock = VirtualClock | ScaledClock


def start_clock(speed: float) -> ScaledClock:
    """A scaled clock whose virtual time starts at the real now."""
    real = time.time()
    return ScaledClock(real_origin=real, virtual_origin=real, speed=speed)


def virtual_clock(start: datetime | float | None = None) -> VirtualClock:
    if start is None:
        origin = float(int(time.time()) // 60 * 60)
    elif isinstance(start, datetime):
        origin = (start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp()
    else:
        origin = float(start)
    return VirtualClock(origin)
