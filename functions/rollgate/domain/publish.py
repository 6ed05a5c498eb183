"""Gate 4 — publish the version and prove it is the artifact that was asked for.

PublishVersion carries the CodeSha256 guard, and the published version is read back and compared
with the artifact's hash: the right version is what gets deployed. A version that already holds the
same code and configuration is reused, so a rerun publishes nothing twice.
"""

from __future__ import annotations

from rollgate.domain.errors import UpdateTimedOut, VersionMismatch
from rollgate.domain.models import DeploymentContext, Evidence, PublishedVersion
from rollgate.domain.ports import Clock, FunctionConfig, LambdaApi

_VERSION_POLL_SECONDS = 2


def _verify(ctx: DeploymentContext, config: FunctionConfig) -> Evidence:
    expected = ctx.require_baseline().artifact_code_sha256
    if config.code_sha256 != expected:
        raise VersionMismatch(
            f"version {config.version} of {ctx.function_name} has CodeSha256 {config.code_sha256}, "
            f"but the artifact {ctx.request.artifact.describe()} is {expected}"
        )
    return Evidence(
        check="code_sha256",
        ok=True,
        detail=f"version {config.version} runs the artifact asked for ({expected})",
        data={"version": config.version, "code_sha256": expected},
    )


def _reusable_version(ctx: DeploymentContext, latest: FunctionConfig, lambda_api: LambdaApi) -> FunctionConfig | None:
    baseline = ctx.require_baseline()
    if baseline.already_live:
        return lambda_api.get_config(ctx.function_name, baseline.live_version)
    matching = [
        v
        for v in lambda_api.list_versions(ctx.function_name)
        if v.code_sha256 == latest.code_sha256 and v.environment == latest.environment
    ]
    return max(matching, key=lambda v: int(v.version)) if matching else None


def publish(ctx: DeploymentContext, *, lambda_api: LambdaApi, clock: Clock) -> PublishedVersion:
    latest = lambda_api.get_config(ctx.function_name)
    existing = _reusable_version(ctx, latest, lambda_api)
    if existing is not None:
        config, reused = existing, True
        note = Evidence(
            check="publish", ok=True, detail=f"reused version {config.version}: same code and configuration"
        )
    else:
        expected = ctx.require_baseline().artifact_code_sha256 or latest.code_sha256
        config = lambda_api.publish_version(
            ctx.function_name,
            code_sha256=expected,
            revision_id=latest.revision_id,
            description=f"rollgate {ctx.deployment_id}",
        )
        reused = False
        note = Evidence(check="publish", ok=True, detail=f"published version {config.version}")
    return PublishedVersion(
        version=config.version,
        code_sha256=config.code_sha256,
        state=config.state,
        reused=reused,
        poll_interval_seconds=_VERSION_POLL_SECONDS,
        published_at=clock.now(),
        evidence=[note, _verify(ctx, config)],
    )


def check_version(ctx: DeploymentContext, *, lambda_api: LambdaApi) -> PublishedVersion:
    """Poll a Pending version until Active (bounded by the update polling budget)."""
    version = ctx.require_version()
    config = lambda_api.get_config(ctx.function_name, version.version)
    if config.state == "Failed":
        raise VersionMismatch(f"version {version.version} of {ctx.function_name} failed to become Active")
    polls = version.polls + 1
    if config.state != "Active" and polls >= ctx.request.update_polling.max_polls:
        raise UpdateTimedOut(f"version {version.version} still {config.state} after {polls} polls")
    return version.model_copy(update={"state": config.state, "polls": polls})
