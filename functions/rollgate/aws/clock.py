"""Clocks: the real one, and the scaled one the embedded local runtime shares between processes.

The local runtime starts every task Lambda with ROLLGATE_CLOCK_SPEED / _REAL_ORIGIN /
_VIRTUAL_ORIGIN, so Wait states, metric timestamps and handlers all read one fast clock and a
production-sized bake runs in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from rollgate.aws.settings import ClockSettings
from rollgate.domain.ports import Clock


class SystemClock:
    """The real UTC clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ScaledClock:
    """A clock that runs `speed` times faster than real time:
    now = virtual_origin + (real now - real_origin) * speed (all epoch seconds)."""

    def __init__(
        self, real_origin: float, virtual_origin: float, speed: float, *, real_time: Callable[[], float] = time.time
    ) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive (got {speed})")
        self.real_origin = float(real_origin)
        self.virtual_origin = float(virtual_origin)
        self.speed = float(speed)
        self._real_time = real_time

    def timestamp(self) -> float:
        """Virtual now, in epoch seconds."""
        return self.virtual_origin + (self._real_time() - self.real_origin) * self.speed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def seconds_to_real(self, virtual_seconds: float) -> float:
        """How long `virtual_seconds` of this clock last in real time (never negative)."""
        return max(0.0, float(virtual_seconds)) / self.speed

    def __repr__(self) -> str:
        return f"ScaledClock(real_origin={self.real_origin}, virtual_origin={self.virtual_origin}, speed={self.speed})"


def clock_from_settings(settings: ClockSettings) -> Clock:
    """ScaledClock when a clock speed is configured, else SystemClock."""
    if settings.clock_speed is None:
        return SystemClock()
    # the settings validator guarantees both origins when a speed is set
    assert settings.clock_real_origin is not None and settings.clock_virtual_origin is not None
    return ScaledClock(settings.clock_real_origin, settings.clock_virtual_origin, settings.clock_speed)


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The clock the environment asks for: ScaledClock from ROLLGATE_CLOCK_SPEED,
    ROLLGATE_CLOCK_REAL_ORIGIN and ROLLGATE_CLOCK_VIRTUAL_ORIGIN (floats, epoch seconds; ISO-8601
    accepted) when
    ROLLGATE_CLOCK_SPEED is set, otherwise SystemClock. Raises ConfigurationError naming a missing
    or malformed variable."""
    return clock_from_settings(ClockSettings.from_environ(environ))
