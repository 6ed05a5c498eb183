"""Releasing a version that is already published (`rollgate deploy --version N`, or
`artifact.function_version` in a request or manifest): undo to a known good version through the
gates that judge it — smoke, canary, watch — with nothing updated and nothing published.

Preflight takes the version's own CodeSha256 as the artifact's; UpdateFunction answers Skipped
($LATEST is left as it is); PublishVersion reads the version back instead of publishing. From the
smoke test on, it is an ordinary release of that version, rolled back to the live one on failure.
"""

from __future__ import annotations

from rollgate.domain.shared.errors import NotFoundError, PreflightFailed
from rollgate.domain.shared.models import DeploymentContext, Evidence
from rollgate.domain.shared.ports import FunctionConfig, LambdaApi


def existing_version(ctx: DeploymentContext) -> str | None:
    """The published version the request releases as it is, or None for new code."""
    return ctx.request.artifact.function_version


def existing_version_config(ctx: DeploymentContext, lambda_api: LambdaApi) -> FunctionConfig:
    """The version to release, read back; PreflightFailed when there is none (or its code is not the
    expected_code_sha256)."""
    number = existing_version(ctx) or ""
    try:
        config = lambda_api.get_config(ctx.function_name, number)
    except NotFoundError:
        raise PreflightFailed(f"version {number} of {ctx.function_name} does not exist: nothing to release") from None
    expected = ctx.request.expected_code_sha256
    if expected and expected != config.code_sha256:
        raise PreflightFailed(
            f"version {number} of {ctx.function_name} has CodeSha256 {config.code_sha256}, not the "
            f"expected_code_sha256 {expected}"
        )
    return config


def update_skipped(ctx: DeploymentContext) -> Evidence:
    return Evidence(
        check="update",
        ok=True,
        detail=f"nothing updated: {ctx.request.artifact.describe()} is released as it is ($LATEST untouched)",
    )


def publish_skipped(version: str) -> Evidence:
    return Evidence(check="publish", ok=True, detail=f"nothing published: releasing the existing version {version}")
