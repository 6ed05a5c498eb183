"""Runtime settings of the task Lambdas, read from the environment once per cold start.

A missing or malformed variable fails the cold start with ConfigurationError naming the variable,
instead of a KeyError deep inside a handler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rollgate.domain.errors import RollgateError


class ConfigurationError(RollgateError):
    """The function's environment is incomplete or malformed. The message names the variable."""


#: model field -> the environment variable it is read from
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "ledger_table_name": "LEDGER_TABLE_NAME",
    "event_bus_name": "EVENT_BUS_NAME",
    "artifact_bucket_name": "ARTIFACT_BUCKET_NAME",
    "lease_seconds": "ROLLGATE_LEASE_SECONDS",
    "remediation_lookback_minutes": "REMEDIATION_LOOKBACK_MINUTES",
    "clock_speed": "ROLLGATE_CLOCK_SPEED",
    "clock_real_origin": "ROLLGATE_CLOCK_REAL_ORIGIN",
    "clock_virtual_origin": "ROLLGATE_CLOCK_VIRTUAL_ORIGIN",
}

SettingsT = TypeVar("SettingsT", bound="ClockSettings")


class ClockSettings(BaseModel):
    """The shared fast clock of the local runtime. Unset speed means the real clock.

    With ROLLGATE_CLOCK_SPEED set, virtual now = VIRTUAL_ORIGIN + (real now - REAL_ORIGIN) * SPEED
    (epoch seconds); both origins are required so that every process reads the same clock.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock_speed: float | None = Field(default=None, gt=0)
    clock_real_origin: float | None = None
    clock_virtual_origin: float | None = None

    @field_validator("clock_real_origin", "clock_virtual_origin", mode="before")
    @classmethod
    def _epoch_seconds_or_iso(cls, value: Any) -> Any:
        """Origins are epoch seconds; an ISO-8601 timestamp is accepted too (as the local runtime's
        own clock reader does)."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                try:
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return value  # let pydantic report it, naming the variable
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        return value

    @model_validator(mode="after")
    def _origins_with_speed(self) -> ClockSettings:
        if self.clock_speed is not None:
            missing = [
                ENVIRONMENT_VARIABLES[name]
                for name in ("clock_real_origin", "clock_virtual_origin")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"{', '.join(missing)} must be set when ROLLGATE_CLOCK_SPEED is set")
        return self

    @classmethod
    def from_environ(cls: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
        """Read the model's fields from `environ` (default os.environ). Empty values count as unset."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = environ.get(ENVIRONMENT_VARIABLES[name], "").strip()
            if raw:
                values[name] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigurationError(_describe(error)) from None


class Settings(ClockSettings):
    """What every task Lambda is configured with (the CDK TaskFunction construct sets these)."""

    ledger_table_name: str
    event_bus_name: str
    artifact_bucket_name: str | None = None
    lease_seconds: int = Field(default=3600, gt=0)
    remediation_lookback_minutes: int = Field(default=60, gt=0)


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        variable = ENVIRONMENT_VARIABLES.get(field)
        if problem["type"] == "missing" and variable:
            problems.append(f"environment variable {variable} is required but not set")
        elif variable:
            problems.append(f"environment variable {variable}: {problem['msg']} (got {problem.get('input')!r})")
        else:  # a model-level check; its message already names the variables
            problems.append(problem["msg"].removeprefix("Value error, "))
    return "; ".join(problems)


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process, read from os.environ on first use (tests: cache_clear())."""
    return Settings.from_environ(os.environ)
