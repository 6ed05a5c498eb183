"""Runtime settings of the task Lambdas, read from the environment once per cold start.

A missing or malformed variable fails the cold start with ConfigurationError naming the variable,
instead of a KeyError deep inside a handler.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rollgate import contract
from rollgate.domain.deploy.start import parse_health_policies
from rollgate.domain.release.windows import WindowPolicy, parse_windows
from rollgate.domain.shared.errors import InvalidRequest, RollgateError
from rollgate.domain.shared.managed import ManagedFunction, parse_managed_functions
from rollgate.domain.shared.models import HealthPolicy
from rollgate.domain.shared.validation import Target


class ConfigurationError(RollgateError):
    """The function's environment is incomplete or malformed. The message names the variable."""


#: model field -> the environment variable it is read from
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "ledger_table_name": contract.LEDGER_TABLE.name,
    "event_bus_name": contract.EVENT_BUS.name,
    "artifact_bucket_name": contract.ARTIFACT_BUCKET.name,
    "lease_seconds": contract.LEASE_SECONDS.name,
    "remediation_lookback_minutes": contract.REMEDIATION_LOOKBACK_MINUTES.name,
    "managed_function_tag": contract.MANAGED_FUNCTION_TAG.name,
    "health_policies": contract.HEALTH_POLICIES.name,
    "deployment_windows": contract.DEPLOYMENT_WINDOWS.name,
    "managed_functions": contract.MANAGED_FUNCTIONS.name,
    "targets": contract.TARGETS.name,
    "deploy_role_name": contract.DEPLOY_ROLE_NAME.name,
}

#: The tag key marking a function Rollgate may change, unless the stack was synthesized with another
#: (cdk context rollgate:managedFunctionTag, which infra passes as ROLLGATE_MANAGED_FUNCTION_TAG).
DEFAULT_MANAGED_FUNCTION_TAG = str(contract.MANAGED_FUNCTION_TAG.default)

SettingsT = TypeVar("SettingsT", bound="EnvironmentSettings")


class EnvironmentSettings(BaseModel):
    """A settings model read from environment variables (names in ENVIRONMENT_VARIABLES)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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


class TargetAccount(BaseModel):
    """An account the stack releases into, and its regions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(pattern=r"^[0-9]{12}$")
    regions: list[str] = Field(min_length=1)

    @field_validator("regions")
    @classmethod
    def _regions(cls, regions: list[str]) -> list[str]:
        bad = [r for r in regions if not re.fullmatch(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]", r)]
        if bad:
            raise ValueError(f"not AWS region names: {', '.join(map(repr, bad))}")
        return regions


class Settings(EnvironmentSettings):
    """What every task Lambda is configured with (the CDK TaskFunction construct sets these)."""

    ledger_table_name: str
    event_bus_name: str
    artifact_bucket_name: str | None = None
    lease_seconds: int = Field(default=int(str(contract.LEASE_SECONDS.default)), gt=0)
    remediation_lookback_minutes: int = Field(default=int(str(contract.REMEDIATION_LOOKBACK_MINUTES.default)), gt=0)
    managed_function_tag: str = Field(
        default=DEFAULT_MANAGED_FUNCTION_TAG,
        min_length=1,
        description='Tag key whose value "true" marks a function as managed by Rollgate.',
    )
    health_policies: dict[str, HealthPolicy] = Field(
        default_factory=dict,
        description="the stack's named health policies (JSON, from cdk.json context rollgate:healthPolicies), "
        "resolved by Validate and LoadManifest; each holds only the fields it sets",
    )

    deployment_windows: dict[str, WindowPolicy] = Field(
        default_factory=dict,
        description="the stack's named deployment windows (JSON, from cdk.json context rollgate:deploymentWindows), "
        "resolved by LoadManifest",
    )
    managed_functions: dict[str, ManagedFunction] = Field(
        default_factory=dict,
        description="each managed function's defaults (JSON list, from Rollgate.manage in the CDK app) by "
        "function name, filled by Validate and LoadManifest into what an input leaves out",
    )

    targets: list[TargetAccount] = Field(
        default_factory=list,
        description="the accounts and regions the stack releases into besides its own (JSON list of "
        '{"account", "regions"}, from cdk.json context rollgate:targets)',
    )
    deploy_role_name: str = Field(
        default=str(contract.DEPLOY_ROLE_NAME.default),
        pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$",
        description="the role assumed in each target account (RollgateDeployRole's role_name)",
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _targets(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ValueError(f"not JSON ({error})") from None

    def allowed_targets(self) -> frozenset[Target]:
        """Every (account, region) the stack may release into besides its home."""
        return frozenset(Target(t.account, region) for t in self.targets for region in t.regions)

    @field_validator("managed_functions", mode="before")
    @classmethod
    def _managed_functions(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            return parse_managed_functions(json.loads(raw), "managed functions")
        except ValueError as error:  # not JSON
            raise ValueError(f"not JSON ({error})") from None
        except InvalidRequest as error:
            raise ValueError(str(error)) from None

    @field_validator("deployment_windows", mode="before")
    @classmethod
    def _named_windows(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            return parse_windows(json.loads(raw), "deployment windows")
        except ValueError as error:  # not JSON
            raise ValueError(f"not JSON ({error})") from None
        except InvalidRequest as error:
            raise ValueError(str(error)) from None

    @field_validator("health_policies", mode="before")
    @classmethod
    def _named_policies(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            return raw
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise ValueError(f"not JSON ({error})") from None
        try:
            return parse_health_policies(data, "health policies")
        except InvalidRequest as error:
            raise ValueError(str(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        variable = ENVIRONMENT_VARIABLES.get(field)
        if problem["type"] == "missing" and variable:
            problems.append(f"environment variable {variable} is required but not set")
        elif variable:
            message = problem["msg"].removeprefix("Value error, ")
            problems.append(f"environment variable {variable}: {message} (got {_short(problem.get('input'))})")
        else:  # a model-level check; its message already names the variables
            problems.append(problem["msg"].removeprefix("Value error, "))
    return "; ".join(problems)


def _short(value: Any) -> str:
    """The bad value, cut short: a JSON variable can be kilobytes long."""
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:117]}..."


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings of this process, read from os.environ on first use (tests: cache_clear())."""
    return Settings.from_environ(os.environ)
