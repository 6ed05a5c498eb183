"""The release manifest: which functions of an application a release deploys, in which waves, and how.

CI writes it next to the artifacts (or puts it inline in a `Release Requested` event); the Release
workflow turns it into one DeploymentRequest per function. Per-function settings override the
manifest's `defaults`: strategy, smoke_tests and watch_seconds replace the default, health is
merged field by field (so a function can loosen one threshold without restating the others).

The JSON Schema in `schemas/release-manifest.schema.json` is generated from these models
(`python -m rollgate.domain.manifest`), and a test keeps the two equal.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Optional

from pydantic import Field, create_model, field_validator, model_validator

from rollgate.domain.errors import InvalidRequest
from rollgate.domain.models import (
    Artifact,
    DeploymentRequest,
    HealthPolicy,
    Provenance,
    SmokeTest,
    Strategy,
    Strict,
    UpdatePolling,
    parse_model,
)

#: Every HealthPolicy field, optional: what a manifest may override.
HealthOverrides: type[Strict] = create_model(  # type: ignore[call-overload]
    "HealthOverrides",
    __base__=Strict,
    **{name: (Optional[field.annotation], None) for name, field in HealthPolicy.model_fields.items()},  # noqa: UP045
)

MAX_FUNCTIONS = 100
MAX_CONCURRENCY_LIMIT = 20


class ReleaseDefaults(Strict):
    """Settings every function of the release gets unless it says otherwise."""

    alias: str = "live"
    strategy: Strategy = Field(default_factory=Strategy)
    smoke_tests: list[SmokeTest] = Field(default_factory=list)
    health: HealthOverrides = Field(default_factory=HealthOverrides)  # type: ignore[valid-type]
    watch_seconds: int = 600
    update_polling: UpdatePolling = Field(default_factory=UpdatePolling)


class ManifestFunction(Strict):
    """One function of the release and its artifact; any other field overrides `defaults`."""

    function_name: str
    alias: str | None = None
    artifact: Artifact
    expected_code_sha256: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    required_environment: list[str] = Field(default_factory=list)
    strategy: Strategy | None = None
    smoke_tests: list[SmokeTest] | None = None
    health: HealthOverrides | None = None  # type: ignore[valid-type]
    watch_seconds: int | None = None


class Wave(Strict):
    """Functions deployed together, in parallel; the next wave starts when all are promoted."""

    name: str | None = None
    functions: list[ManifestFunction] = Field(min_length=1)


class ReleaseManifest(Strict):
    manifest_version: Literal[1] = 1
    application: str = Field(min_length=1, max_length=64)
    #: Names the release in the ledger and events; from a push it defaults to repository@commit.
    release_id: str | None = Field(default=None, min_length=1, max_length=128)
    #: If one function is not promoted, roll back every function this release already promoted.
    atomic: bool = True
    #: Functions of one wave deployed at the same time, at most.
    max_concurrency: int = Field(default=4, ge=1, le=MAX_CONCURRENCY_LIMIT)
    defaults: ReleaseDefaults = Field(default_factory=ReleaseDefaults)
    waves: list[Wave] = Field(min_length=1)

    @field_validator("waves")
    @classmethod
    def _not_too_many(cls, waves: list[Wave]) -> list[Wave]:
        count = sum(len(wave.functions) for wave in waves)
        if count > MAX_FUNCTIONS:
            raise ValueError(f"a release deploys at most {MAX_FUNCTIONS} functions (got {count})")
        return waves

    @model_validator(mode="after")
    def _each_alias_once(self) -> ReleaseManifest:
        seen: dict[tuple[str, str], str] = {}
        for w, wave in enumerate(self.waves):
            for f, entry in enumerate(wave.functions):
                target = (entry.function_name, entry.alias or self.defaults.alias)
                where = f"waves.{w}.functions.{f}"
                if target in seen:
                    raise ValueError(
                        f"{where}: {target[0]}:{target[1]} is already deployed by {seen[target]}; "
                        "a release deploys each function alias once"
                    )
                seen[target] = where
        return self


def parse_manifest(data: Any, *, where: str = "manifest") -> ReleaseManifest:
    """Validate a manifest; the error names each bad field (`manifest.waves.0.functions.1.artifact: …`)."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"{where}: expected a JSON object, got {type(data).__name__}")
    return parse_model(ReleaseManifest, data, where)


def deployment_request(
    manifest: ReleaseManifest, wave_index: int, function_index: int, provenance: Provenance
) -> DeploymentRequest:
    """The DeployFunction input for one function of the manifest, defaults applied."""
    defaults = manifest.defaults
    entry = manifest.waves[wave_index].functions[function_index]
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
    return parse_model(DeploymentRequest, body, f"manifest.waves.{wave_index}.functions.{function_index}")


def json_schema() -> dict[str, Any]:
    schema = ReleaseManifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://rollgate.dev/schemas/release-manifest.schema.json"
    schema["title"] = "Rollgate release manifest"
    return schema


if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
