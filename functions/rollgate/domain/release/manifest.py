"""The release manifest: which functions of an application a release deploys, in which waves, and how.

CI writes it next to the artifacts (or puts it inline in a `Release Requested` event); the Release
workflow turns it into one DeploymentRequest per function. Per-function settings override the
manifest's `defaults`: strategy, smoke_tests and watch_seconds replace the default; health, prune
and hooks are merged field by field (so a function can loosen one threshold, keep more versions or
swap one hook without restating the others).

`health_policy` names one of the stack's health policies (the function's, else the defaults'); it
is the base the manifest's own health fields (the defaults', then the function's) override. It is
resolved here, when the functions are expanded, so an unknown name refuses the release before the
first wave and each child's request carries the resolved policy.

The JSON Schema in `schemas/release-manifest.schema.json` is generated from these models
(`python -m rollgate.domain.release.manifest`), and a test keeps the two equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, Optional

from pydantic import Field, create_model, field_validator, model_validator

from rollgate.domain.deploy.start import apply_health_policy
from rollgate.domain.release.queue import QueuePolicy
from rollgate.domain.release.windows import WindowPolicy, WindowsName
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import (
    ApprovalPolicy,
    Artifact,
    DeploymentRequest,
    FunctionConfiguration,
    HealthPolicy,
    HealthPolicyName,
    Hooks,
    Provenance,
    ProvisionedConcurrency,
    PrunePolicy,
    SmokeTest,
    Strategy,
    Strict,
    UpdatePolling,
    parse_model,
)
from rollgate.domain.shared.validation import (
    MAX_REQUEST_BYTES,
    AliasName,
    CodeSha256,
    Environment,
    EnvironmentKey,
    FunctionRef,
    StackHome,
    StageSeconds,
    Text,
    check_document,
    check_function_name,
)

#: Every HealthPolicy field, optional: what a manifest may override.
HealthOverrides: type[Strict] = create_model(  # type: ignore[call-overload]
    "HealthOverrides",
    __base__=Strict,
    **{name: (Optional[field.annotation], None) for name, field in HealthPolicy.model_fields.items()},  # noqa: UP045
)

MAX_FUNCTIONS = 100
MAX_CONCURRENCY_LIMIT = 20
#: A bake between two waves lasts at most a day.
MAX_BAKE_SECONDS = 86_400


class ReleaseDefaults(Strict):
    """Settings every function of the release gets unless it says otherwise.

    configuration and provisioned_concurrency are per function only: memory, timeout and layers
    are sized to each function's own work (a layer list replaces the function's whole list), and an
    allocation is a standing cost sized to each function's traffic, which an unset allocation
    already carries over from the live version. One default for all would be wrong for most."""

    alias: AliasName = "live"
    strategy: Strategy = Field(default_factory=Strategy)
    smoke_tests: list[SmokeTest] = Field(default_factory=list, max_length=20)
    health: HealthOverrides = Field(default_factory=HealthOverrides)
    health_policy: HealthPolicyName | None = Field(
        default=None, description="a named policy of the stack, under every function's health fields"
    )
    watch_seconds: StageSeconds = 600
    update_polling: UpdatePolling = Field(default_factory=UpdatePolling)
    prune: PrunePolicy | None = Field(default=None, description="old versions deleted after each promotion")
    hooks: Hooks | None = Field(default=None, description="the team's pre- and post-traffic checks, for every function")
    bake_seconds: int = Field(
        default=0,
        ge=0,
        le=MAX_BAKE_SECONDS,
        description="after each wave but the last is promoted, how long its functions keep being judged before "
        "the next wave starts (0: the next wave starts at once)",
    )


class ManifestFunction(Strict):
    """One function of the release and its artifact; any other field overrides `defaults`."""

    function_name: FunctionRef
    alias: AliasName | None = None
    artifact: Artifact
    expected_code_sha256: CodeSha256 | None = None
    environment: Environment = Field(default_factory=dict)
    required_environment: list[EnvironmentKey] = Field(default_factory=list, max_length=100)
    strategy: Strategy | None = None
    smoke_tests: list[SmokeTest] | None = Field(default=None, max_length=20)
    health: HealthOverrides | None = None
    health_policy: HealthPolicyName | None = Field(
        default=None, description="a named policy of the stack instead of defaults.health_policy"
    )
    watch_seconds: StageSeconds | None = None
    #: Invokers that bypass the alias: refuse the release (default) or go on with a warning.
    bypass_invokers: Literal["reject", "warn"] | None = None
    configuration: FunctionConfiguration | None = Field(
        default=None, description="memory, timeout, ephemeral storage, layers, architecture, runtime, handler"
    )
    provisioned_concurrency: ProvisionedConcurrency | None = Field(
        default=None, description="provisioned concurrency of the new version; unset: the live version's, if any"
    )
    prune: PrunePolicy | None = Field(default=None, description="merged field by field over defaults.prune")
    hooks: Hooks | None = Field(
        default=None, description="merged over defaults.hooks by phase (`pre_traffic: null` drops the default's)"
    )


class Wave(Strict):
    """Functions deployed together, in parallel; the next wave starts when all are promoted."""

    name: Text | None = None
    functions: list[ManifestFunction] = Field(min_length=1)
    bake_seconds: int | None = Field(
        default=None, ge=0, le=MAX_BAKE_SECONDS, description="this wave's bake, instead of defaults.bake_seconds"
    )


class ReleaseManifest(Strict):
    manifest_version: Literal[1] = 1
    application: Text = Field(max_length=64)
    #: Names the release in the ledger and events; from a push it defaults to repository@commit.
    release_id: Text | None = Field(default=None, max_length=128)
    #: If one function is not promoted, roll back every function this release already promoted.
    atomic: bool = True
    #: Functions of one wave deployed at the same time, at most.
    max_concurrency: int = Field(default=4, ge=1, le=MAX_CONCURRENCY_LIMIT)
    defaults: ReleaseDefaults = Field(default_factory=ReleaseDefaults)
    waves: list[Wave] = Field(min_length=1)
    #: A person's go-ahead between the waves (between_waves) and before each function's promotion
    #: (before_promotion), by task token: `rollgate approve|reject EXECUTION`.
    approval: ApprovalPolicy | None = None
    #: When waves may start: the windows themselves, or the name of one of the stack's (cdk.json
    #: context rollgate:deploymentWindows, e.g. "production").
    windows: WindowPolicy | WindowsName | None = None
    #: A push to the release's branch while it waits or runs: queued behind it (default), or
    #: superseding it. Releases whose source names no branch are not queued.
    queue: QueuePolicy = Field(
        default_factory=QueuePolicy,
        description="a newer push of the same application and branch while this release waits or runs",
    )

    @field_validator("waves")
    @classmethod
    def _not_too_many(cls, waves: list[Wave]) -> list[Wave]:
        count = sum(len(wave.functions) for wave in waves)
        if count > MAX_FUNCTIONS:
            raise ValueError(f"a release deploys at most {MAX_FUNCTIONS} functions (got {count})")
        return waves

    @model_validator(mode="after")
    def _each_alias_once(self) -> ReleaseManifest:
        # by the bare name: `orders-api` and its ARN are one function, and two children racing for
        # one alias would each hold the other off (or worse, interleave)
        seen: dict[tuple[str, str], str] = {}
        for w, wave in enumerate(self.waves):
            for f, entry in enumerate(wave.functions):
                alias = entry.alias or self.defaults.alias
                target = (check_function_name(entry.function_name), alias)
                where = f"waves.{w}.functions.{f}"
                if target in seen:
                    raise ValueError(
                        f"{where}: {entry.function_name}:{alias} is already deployed by {seen[target]}; "
                        "a release deploys each function alias once"
                    )
                seen[target] = where
        return self


def parse_manifest(
    data: Any,
    *,
    where: str = "manifest",
    home: StackHome | None = None,
    health_policies: Mapping[str, HealthPolicy] | None = None,
) -> ReleaseManifest:
    """Validate a manifest and every deployment it expands to (defaults merged, per-function rules
    applied), so a bad function in the last wave is refused before the first one deploys; each error
    names its field (`manifest.waves.0.functions.1.artifact: …`). With `home`, function ARNs must be
    this stack's; with `health_policies` (the stack's), every named policy must be one of them."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"{where}: expected a JSON object, got {type(data).__name__}")
    check_document(data, where)
    manifest = parse_model(ReleaseManifest, data, where, home=home)
    expanded = [
        deployment_request(
            manifest, w, f, Provenance(), where=where, home=home, health_policies=health_policies
        ).model_dump(mode="json")
        for w, wave in enumerate(manifest.waves)
        for f in range(len(wave.functions))
    ]
    # the Release execution carries every function's request in its plan: they share one state
    check_document(expanded, f"{where} (every function's request, defaults applied)", max_bytes=MAX_REQUEST_BYTES)
    return manifest


def deployment_request(
    manifest: ReleaseManifest,
    wave_index: int,
    function_index: int,
    provenance: Provenance,
    *,
    where: str = "manifest",
    home: StackHome | None = None,
    health_policies: Mapping[str, HealthPolicy] | None = None,
) -> DeploymentRequest:
    """The DeployFunction input for one function of the manifest, defaults applied and its named
    health policy resolved from `health_policies` (None: left for the child's Validate)."""
    defaults = manifest.defaults
    entry = manifest.waves[wave_index].functions[function_index]
    at = f"{where}.waves.{wave_index}.functions.{function_index}"
    health = {
        **defaults.health.model_dump(exclude_unset=True),
        **(entry.health.model_dump(exclude_unset=True) if entry.health is not None else {}),
    }
    body: dict[str, Any] = {
        "function_name": entry.function_name,
        "alias": entry.alias or defaults.alias,
        "artifact": entry.artifact.model_dump(exclude_none=True),
        "expected_code_sha256": entry.expected_code_sha256,
        "environment": entry.environment,
        "required_environment": entry.required_environment,
        "strategy": (entry.strategy or defaults.strategy).model_dump(mode="json"),
        "smoke_tests": [
            t.model_dump(mode="json")
            for t in (entry.smoke_tests if entry.smoke_tests is not None else defaults.smoke_tests)
        ],
        "health": health,
        "watch_seconds": entry.watch_seconds if entry.watch_seconds is not None else defaults.watch_seconds,
        "update_polling": defaults.update_polling.model_dump(mode="json"),
        "provenance": provenance.model_dump(mode="json"),
    }
    if manifest.approval is not None and manifest.approval.before_promotion:
        body["approval"] = manifest.approval.model_dump(mode="json")
    if entry.bypass_invokers is not None:
        body["bypass_invokers"] = entry.bypass_invokers
    if entry.configuration is not None:
        body["configuration"] = entry.configuration.model_dump(mode="json", exclude_none=True)
    if entry.provisioned_concurrency is not None:
        body["provisioned_concurrency"] = entry.provisioned_concurrency.model_dump(mode="json")
    for name, default, override in (
        ("prune", defaults.prune, entry.prune),
        ("hooks", defaults.hooks, entry.hooks),
    ):
        if default is not None or override is not None:
            body[name] = _merged(default, override)
    if entry.health_policy is not None or defaults.health_policy is not None:
        body["health_policy"] = entry.health_policy or defaults.health_policy
        named_at = f"{at}.health_policy" if entry.health_policy is not None else f"{where}.defaults.health_policy"
        body = apply_health_policy(body, health_policies, field=named_at)
    return parse_model(DeploymentRequest, body, at, home=home)


def _merged(default: Strict | None, override: Strict | None) -> dict[str, Any]:
    """The fields a manifest wrote, the function's over the defaults' (an explicit null included)."""
    return {
        **(default.model_dump(mode="json", exclude_unset=True) if default is not None else {}),
        **(override.model_dump(mode="json", exclude_unset=True) if override is not None else {}),
    }


def json_schema() -> dict[str, Any]:
    schema = ReleaseManifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://rollgate.dev/schemas/release-manifest.schema.json"
    schema["title"] = "Rollgate release manifest"
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
