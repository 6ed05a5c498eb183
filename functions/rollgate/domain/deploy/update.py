"""Gate 3 — update $LATEST and wait for Lambda to finish applying it.

One function drives $LATEST towards the desired state (the artifact's code, the merged
environment, the requested configuration), one change at a time, and reports where it is. The
state machine calls it first from UpdateFunction, then from CheckUpdate after each Wait, until it
answers Successful — a polling loop with a budget, never a fixed sleep. Because it always re-reads
the function first, a rerun or a redrive finds the work already done and changes nothing.
"""

from __future__ import annotations

from rollgate.domain.deploy import redeploy
from rollgate.domain.deploy.preflight import describe_changes, desired_environment, settings_changes
from rollgate.domain.shared.errors import UpdateFailed, UpdateTimedOut
from rollgate.domain.shared.models import DeploymentContext, Evidence, UpdateProgress
from rollgate.domain.shared.ports import Clock, FunctionConfig, LambdaApi


def _apply_next_change(
    ctx: DeploymentContext, latest: FunctionConfig, lambda_api: LambdaApi
) -> tuple[FunctionConfig, Evidence] | None:
    """One change, in Lambda's order: the code (with the architecture, which Lambda takes with the
    code), then the environment and settings together in one UpdateFunctionConfiguration."""
    baseline = ctx.require_baseline()
    changes = settings_changes(latest, ctx)
    architectures = changes.pop("architectures", None)
    if latest.code_sha256 != baseline.artifact_code_sha256 or architectures is not None:
        artifact = ctx.request.artifact
        updated = lambda_api.update_code(
            ctx.function_name,
            bucket=artifact.bucket,
            key=artifact.key,
            object_version=artifact.version_id,
            image_uri=artifact.image_uri,
            revision_id=latest.revision_id,
            **({"architectures": architectures[1]} if architectures else {}),
        )
        moved = f" on {architectures[1][0]}" if architectures else ""
        return updated, Evidence(
            check="update_code",
            ok=True,
            detail=f"code update to {artifact.describe()}{moved} started",
            data={"revision_id": updated.revision_id},
        )
    wanted_env = desired_environment(latest, ctx)
    if wanted_env == latest.environment and not changes:
        return None
    env_changed = sorted(k for k in wanted_env if latest.environment.get(k) != wanted_env[k])
    if not changes:
        updated = lambda_api.update_environment(ctx.function_name, wanted_env, latest.revision_id)
        return updated, Evidence(
            check="update_environment", ok=True, detail=f"environment update started ({', '.join(env_changed)})"
        )
    updated = lambda_api.update_configuration(
        ctx.function_name,
        environment=wanted_env,
        settings={name: wanted for name, (_, wanted) in changes.items()},
        revision_id=latest.revision_id,
    )
    what = describe_changes(changes) + (f"; environment ({', '.join(env_changed)})" if env_changed else "")
    return updated, Evidence(
        check="update_configuration",
        ok=True,
        detail=f"configuration update started: {what}",
        data={"changes": {k: {"from": a, "to": b} for k, (a, b) in changes.items()}},
    )


def converge_latest(ctx: DeploymentContext, *, lambda_api: LambdaApi, clock: Clock) -> UpdateProgress:
    previous = ctx.update
    polls = previous.polls + 1 if previous else 0
    policy = ctx.request.update_polling
    evidence = list(previous.evidence) if previous else []
    started_at = previous.started_at if previous else clock.now()

    def progress(status: str, config: FunctionConfig) -> UpdateProgress:
        return UpdateProgress(
            status=status,
            revision_id=config.revision_id,
            code_sha256=config.code_sha256,
            polls=polls,
            max_polls=policy.max_polls,
            poll_interval_seconds=policy.interval_seconds,
            started_at=started_at,
            evidence=evidence,
        )

    latest = lambda_api.get_config(ctx.function_name)
    if redeploy.existing_version(ctx) is not None:
        return progress("Skipped", latest).model_copy(update={"evidence": [redeploy.update_skipped(ctx)]})
    if latest.last_update_status == "Failed":
        raise UpdateFailed(
            f"Lambda could not apply the update to {ctx.function_name}: "
            f"{latest.last_update_reason or 'no LastUpdateStatusReason given'}"
        )
    if latest.last_update_status == "InProgress":
        if polls >= policy.max_polls:
            waited = polls * policy.interval_seconds
            raise UpdateTimedOut(f"{ctx.function_name} still InProgress after {polls} polls ({waited} s); giving up")
        return progress("InProgress", latest)

    change = _apply_next_change(ctx, latest, lambda_api)
    if change is None:
        if not evidence:
            evidence.append(Evidence(check="update", ok=True, detail="$LATEST already has this code and configuration"))
        evidence.append(
            Evidence(check="update_settled", ok=True, detail=f"LastUpdateStatus Successful after {polls} poll(s)")
        )
        return progress("Successful", latest)
    updated, note = change
    evidence.append(note)
    return progress("InProgress", updated)
