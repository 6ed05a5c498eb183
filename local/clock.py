"""The one clock of the embedded local runtime.

Public API:

    ScaledClock(real_origin: float, virtual_origin: datetime, speed: float)
        .now() -> datetime                     virtual UTC now (timezone-aware)
        .sleep(virtual_seconds: float) -> None really sleeps virtual_seconds / speed
        .seconds_to_real(virtual_seconds) -> float
        .speed, .real_origin, .virtual_origin
        .env() -> dict[str, str]               the ROLLGATE_CLOCK_* variables describing this clock
    clock_from_env(environ) -> ScaledClock | None
    start_clock(speed: float) -> ScaledClock   virtual origin = real now

Virtual time = virtual_origin + (time.time() - real_origin) * speed. Wait states, metric timestamps
and handlers all read this one clock, so a production-sized bake runs in seconds.

Handlers running in the local data plane receive the clock as three environment variables:
ROLLGATE_CLOCK_SPEED (a float), ROLLGATE_CLOCK_REAL_ORIGIN and ROLLGATE_CLOCK_VIRTUAL_ORIGIN (both
POSIX epoch seconds as decimal strings). `clock_from_env` also accepts ISO-8601 origins.

`rollgate.aws.clock` (the Lambda side) reads the same three variables; this module is the local
runtime's own copy so `local/` works whether or not that module exists yet. Only the environment
contract above has to agree between the two.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

ENV_SPEED = "ROLLGATE_CLOCK_SPEED"
ENV_REAL_ORIGIN = "ROLLGATE_CLOCK_REAL_ORIGIN"
ENV_VIRTUAL_ORIGIN = "ROLLGATE_CLOCK_VIRTUAL_ORIGIN"


def _parse_instant(value: str) -> float:
    """Epoch seconds from a decimal string or an ISO-8601 timestamp."""
    try:
        return float(value)
    except ValueError:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()


class ScaledClock:
    """Virtual time running `speed` times faster than the wall clock from a shared origin."""

    def __init__(self, real_origin: float, virtual_origin: datetime, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        if virtual_origin.tzinfo is None:
            virtual_origin = virtual_origin.replace(tzinfo=UTC)
        self.real_origin = float(real_origin)
        self.virtual_origin = virtual_origin.astimezone(UTC)
        self.speed = float(speed)

    def now(self) -> datetime:
        return self.virtual_origin + timedelta(seconds=(time.time() - self.real_origin) * self.speed)

    def seconds_to_real(self, virtual_seconds: float) -> float:
        return max(0.0, float(virtual_seconds)) / self.speed

    def sleep(self, virtual_seconds: float) -> None:
        time.sleep(self.seconds_to_real(virtual_seconds))

    def env(self) -> dict[str, str]:
        return {
            ENV_SPEED: repr(self.speed),
            ENV_REAL_ORIGIN: repr(self.real_origin),
            ENV_VIRTUAL_ORIGIN: repr(self.virtual_origin.timestamp()),
        }

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed}, virtual_now={self.now().isoformat()})"


def clock_from_env(environ: Mapping[str, str]) -> ScaledClock | None:
    if not environ.get(ENV_SPEED):
        return None
    return ScaledClock(
        real_origin=_parse_instant(environ[ENV_REAL_ORIGIN]),
        virtual_origin=datetime.fromtimestamp(_parse_instant(environ[ENV_VIRTUAL_ORIGIN]), UTC),
        speed=float(environ[ENV_SPEED]),
    )



def clock_env(clock: object) -> dict[str, str]:
    """The ROLLGATE_CLOCK_* variables for `clock`, whichever implementation it is."""
    env = getattr(clock, "env", None)
    if callable(env):
        return dict(env())
    virtual_origin: datetime = clock.virtual_origin  # type: ignore[attr-defined]
    return {
        ENV_SPEED: repr(float(clock.speed)),  # type: ignore[attr-defined]
        ENV_REAL_ORIGIN: repr(float(clock.real_origin)),  # type: ignore[attr-defined]
        ENV_VIRTUAL_ORIGIN: repr(virtual_origin.timestamp()),
    }


def start_clock(speed: float) -> ScaledClock:
    """A clock whose virtual time starts at the real now and runs `speed` times faster."""
    real = time.time()
    return ScaledClock(real_origin=real, virtual_origin=datetime.fromtimestamp(real, UTC), speed=speed)
