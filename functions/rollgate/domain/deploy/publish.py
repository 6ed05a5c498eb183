"""Gate 4 — publish the version and prove it is the artifact that was asked for.

PublishVersion carries the CodeSha256 guard, and the published version is read back and compared
with the artifact's hash (and an image's digest) and with the configuration asked for: the right
version is what gets deployed. A version that already holds the
same code and configuration is reused, so a rerun publishes nothing twice.
"""

from __future__ import annotations

from rollgate.domain.deploy import redeploy
from rollgate.domain.deploy.preflight import describe_changes, image_digest, requested_settings, settings_changes
from rollgate.domain.shared.errors import UpdateTimedOut, VersionMismatch
from rollgate.domain.shared.models import DeploymentContext, Evidence, PublishedVersion
from rollgate.domain.shared.ports import Clock, FunctionConfig, LambdaApi

_VERSION_POLL_SECONDS = 2


def _verify(ctx: DeploymentContext, config: FunctionConfig) -> list[Evidence]:
    """The version runs the artifact asked for (its CodeSha256, and for an image its digest) with
    the configuration asked for (environment and every requested setting)."""
    expected = ctx.require_baseline().artifact_code_sha256
    if config.code_sha256 != expected:
        raise VersionMismatch(
            f"version {config.version} of {ctx.function_name} has CodeSha256 {config.code_sha256}, "
            f"but the artifact {ctx.request.artifact.describe()} is {expected}"
        )
    image = ctx.request.artifact.image_uri
    if image and config.image_uri and image_digest(config.image_uri) != image_digest(image):
        raise VersionMismatch(f"version {config.version} of {ctx.function_name} runs {config.image_uri}, not {image}")
    evidence = [
        Evidence(
            check="code_sha256",
            ok=True,
            detail=f"version {config.version} runs the artifact asked for ({expected})",
            data={"version": config.version, "code_sha256": expected},
        )
    ]
    missing_env = sorted(k for k, v in ctx.request.environment.items() if config.environment.get(k) != v)
    drift = settings_changes(config, ctx)
    if missing_env or drift:
        problems = [describe_changes(drift)] if drift else []
        problems += [f"environment {', '.join(missing_env)} not as asked"] if missing_env else []
        raise VersionMismatch(
            f"version {config.version} of {ctx.function_name} is not configured as asked: {'; '.join(problems)}"
        )
    asked = requested_settings(ctx)
    if asked:
        evidence.append(
            Evidence(
                check="configuration",
                ok=True,
                detail=f"version {config.version} has the configuration asked for: "
                + ", ".join(f"{k} {v}" for k, v in asked.items()),
                data={"configuration": asked},
            )
        )
    return evidence


def _same_release(version: FunctionConfig, latest: FunctionConfig) -> bool:
    """A published version that is what $LATEST now is: code, environment and settings."""
    return (
        version.code_sha256 == latest.code_sha256
        and version.environment == latest.environment
        and version.settings() == latest.settings()
    )


def _reusable_version(ctx: DeploymentContext, latest: FunctionConfig, lambda_api: LambdaApi) -> FunctionConfig | None:
    baseline = ctx.require_baseline()
    if baseline.already_live:
        return lambda_api.get_config(ctx.function_name, baseline.live_version)
    if (number := redeploy.existing_version(ctx)) is not None:
        return lambda_api.get_config(ctx.function_name, number)
    matching = [v for v in lambda_api.list_versions(ctx.function_name) if _same_release(v, latest)]
    if not matching:
        return None
    # read back in full (an image version's digest comes only from GetFunction)
    return lambda_api.get_config(ctx.function_name, max(matching, key=lambda v: int(v.version)).version)


def publish(ctx: DeploymentContext, *, lambda_api: LambdaApi, clock: Clock) -> PublishedVersion:
    latest = lambda_api.get_config(ctx.function_name)
    existing = _reusable_version(ctx, latest, lambda_api)
    if existing is not None:
        config, reused = existing, True
        note = Evidence(
            check="publish", ok=True, detail=f"reused version {config.version}: same code and configuration"
        )
        if redeploy.existing_version(ctx) is not None:
            note = redeploy.publish_skipped(config.version)
    else:
        expected = ctx.require_baseline().artifact_code_sha256 or latest.code_sha256
        published = lambda_api.publish_version(
            ctx.function_name,
            code_sha256=expected,
            revision_id=latest.revision_id,
            description=f"rollgate {ctx.deployment_id}",
        )
        # verified on a fresh read, not on PublishVersion's answer (an image's digest needs GetFunction)
        config = lambda_api.get_config(ctx.function_name, published.version)
        reused = False
        note = Evidence(check="publish", ok=True, detail=f"published version {config.version}")
    return PublishedVersion(
        version=config.version,
        code_sha256=config.code_sha256,
        state=config.state,
        reused=reused,
        poll_interval_seconds=_VERSION_POLL_SECONDS,
        published_at=clock.now(),
        evidence=[note, *_verify(ctx, config)],
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
