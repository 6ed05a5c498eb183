"""Synth-time settings, read from ``cdk.json`` context (or ``cdk -c key=value``). No AWS calls.

The named health policies are validated here with the request's own model (``rollgate.domain``,
the contract infra may read), so a bad policy fails the synth naming its field instead of failing
every deployment that names it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Node

from rollgate import contract
from rollgate.domain.deploy.start import HEALTH_POLICIES_CONTEXT, parse_health_policies
from rollgate.domain.release.windows import parse_windows
from rollgate.domain.shared.errors import InvalidRequest

MANAGED_FUNCTION_TAG = "rollgate:managedFunctionTag"
LOG_RETENTION_DAYS = "rollgate:logRetentionDays"
LOG_LEVEL = "rollgate:logLevel"
POWERTOOLS_LAYER_VERSION = "rollgate:powertoolsLayerVersion"
RELEASE_BRANCHES = "rollgate:releaseBranches"
GUARD_ALARM_PREFIX = "rollgate:guardAlarmPrefix"
REMEDIATION_LOOKBACK_MINUTES = "rollgate:remediationLookbackMinutes"
NOTIFICATION_EMAIL = "rollgate:notificationEmail"
HEALTH_POLICIES = HEALTH_POLICIES_CONTEXT
DEPLOYMENT_WINDOWS = "rollgate:deploymentWindows"

#: A Lambda function's environment holds 4 KB in all; the policies leave room for the other variables.
MAX_HEALTH_POLICIES_BYTES = 3072

# CloudWatch Logs accepts only these retention periods; map the number in cdk.json onto the enum.
_RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What an operator may tune per deployment of Rollgate: the Rollgate construct's keyword
    options (one per field, these defaults), which the Rollgate stack reads from cdk.json context."""

    #: Tag key that marks a Lambda function as managed by Rollgate (value must be "true").
    managed_function_tag: str = str(contract.MANAGED_FUNCTION_TAG.default)
    log_retention_days: int = 30
    log_level: str = "INFO"
    #: Version of the public "Powertools for AWS Lambda (Python) V3" layer (python3.12, arm64).
    powertools_layer_version: int = 27
    #: Branch patterns (fnmatch globs) whose pushes start a release.
    release_branches: tuple[str, ...] = tuple(str(contract.RELEASE_BRANCHES.default).split(","))
    #: CloudWatch alarms whose name starts with this guard managed functions: going into ALARM
    #: starts the Remediate workflow.
    guard_alarm_prefix: str = str(contract.GUARD_ALARM_PREFIX.default)
    #: How far back a promotion can be and still be blamed by an alarm.
    remediation_lookback_minutes: int = int(str(contract.REMEDIATION_LOOKBACK_MINUTES.default))
    #: Subscribe this address to the notifications topic (None: no subscription).
    notification_email: str | None = None
    #: Named health policies (`{"strict": {…HealthPolicy fields…}}`) a request or a manifest names
    #: with `health_policy`; each holds only the fields it sets.
    health_policies: Mapping[str, Any] = field(default_factory=dict)
    #: Named deployment windows (`{"production": {"allowed": [...], "freezes": [...]}}`) a release
    #: manifest names with `windows`.
    deployment_windows: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.log_retention_days not in _RETENTION_BY_DAYS:
            allowed = ", ".join(str(days) for days in _RETENTION_BY_DAYS)
            raise ValueError(
                f"{LOG_RETENTION_DAYS}={self.log_retention_days} is not a CloudWatch Logs retention "
                f"period; use one of {allowed}"
            )
        if not self.managed_function_tag:
            raise ValueError(f"{MANAGED_FUNCTION_TAG} must not be empty")
        if not self.release_branches or not all(self.release_branches):
            raise ValueError(f"{RELEASE_BRANCHES} needs at least one non-empty branch pattern")
        if not self.guard_alarm_prefix:
            raise ValueError(f"{GUARD_ALARM_PREFIX} must not be empty")
        if self.remediation_lookback_minutes <= 0:
            raise ValueError(f"{REMEDIATION_LOOKBACK_MINUTES} must be a positive number of minutes")
        if self.notification_email is not None and "@" not in self.notification_email:
            raise ValueError(f"{NOTIFICATION_EMAIL}={self.notification_email!r} is not an email address")
        self.health_policies_json  # noqa: B018 (validated at synth: a bad policy fails it, naming the field)
        self.deployment_windows_json  # noqa: B018 (the same for the windows)

    @property
    def health_policies_json(self) -> str:
        """ROLLGATE_HEALTH_POLICIES of the tasks (Validate and LoadManifest resolve the names): each
        policy's own fields, compact."""
        try:
            policies = parse_health_policies(self.health_policies, HEALTH_POLICIES)
        except InvalidRequest as error:
            raise ValueError(str(error)) from None
        text = json.dumps(
            {name: policy.model_dump(mode="json", exclude_unset=True) for name, policy in policies.items()},
            separators=(",", ":"),
            sort_keys=True,
        )
        if len(text.encode()) + len(self.deployment_windows_json.encode()) > MAX_HEALTH_POLICIES_BYTES:
            raise ValueError(
                f"{HEALTH_POLICIES}: {len(text.encode()):,} bytes of JSON, over the {MAX_HEALTH_POLICIES_BYTES:,} a "
                f"task's environment has room for (with {DEPLOYMENT_WINDOWS}); keep each policy to the fields it "
                "changes"
            )
        return text

    @property
    def deployment_windows_json(self) -> str:
        """ROLLGATE_DEPLOYMENT_WINDOWS of the tasks (LoadManifest resolves a manifest's `windows` name)."""
        try:
            windows = parse_windows(self.deployment_windows, DEPLOYMENT_WINDOWS)
        except InvalidRequest as error:
            raise ValueError(str(error)) from None
        return json.dumps(
            {name: policy.model_dump(mode="json", exclude_unset=True) for name, policy in windows.items()},
            separators=(",", ":"),
            sort_keys=True,
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_BY_DAYS[self.log_retention_days]

    @classmethod
    def from_context(cls, node: Node) -> Settings:
        defaults = cls()

        def get(key: str, default: object) -> object:
            value = node.try_get_context(key)
            return default if value is None else value

        return cls(
            managed_function_tag=str(get(MANAGED_FUNCTION_TAG, defaults.managed_function_tag)),
            # `cdk -c key=30` passes strings; cdk.json passes numbers.
            log_retention_days=int(str(get(LOG_RETENTION_DAYS, defaults.log_retention_days))),
            log_level=str(get(LOG_LEVEL, defaults.log_level)).upper(),
            powertools_layer_version=int(str(get(POWERTOOLS_LAYER_VERSION, defaults.powertools_layer_version))),
            release_branches=_patterns(get(RELEASE_BRANCHES, defaults.release_branches)),
            guard_alarm_prefix=str(get(GUARD_ALARM_PREFIX, defaults.guard_alarm_prefix)),
            remediation_lookback_minutes=int(
                str(get(REMEDIATION_LOOKBACK_MINUTES, defaults.remediation_lookback_minutes))
            ),
            notification_email=str(get(NOTIFICATION_EMAIL, "")) or None,
            health_policies=_json_object(get(HEALTH_POLICIES, {}), HEALTH_POLICIES),
            deployment_windows=_json_object(get(DEPLOYMENT_WINDOWS, {}), DEPLOYMENT_WINDOWS),
        )


def _json_object(value: object, key: str) -> Any:
    """An object in cdk.json, or its JSON text from `cdk -c key='{…}'`."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as error:
        raise ValueError(f"{key}: not JSON ({error})") from None


def _patterns(value: object) -> tuple[str, ...]:
    """A list in cdk.json, or `-c rollgate:releaseBranches=release/*,hotfix/*` on the command line."""
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[call-overload]
    return tuple(str(item).strip() for item in items if str(item).strip())
