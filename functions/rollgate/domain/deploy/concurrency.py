"""Provisioned concurrency kept consistent across a release.

The new version gets its allocation (the request's, else the live version's) before it takes any
traffic, and ConcurrencyReady? polls until Lambda reports it READY (a Wait/Choice loop with a
budget, never a fixed sleep). After promotion the previous version's allocation is released; on
rollback the new version's is released and the previous one's put back if it is gone. Every step
re-reads the allocation it acts on, so a rerun or a redrive changes nothing twice.

Allocations live on versions, never on the alias: Lambda refuses routing weights on an alias that
has provisioned concurrency of its own (preflight rejects that case).
"""

from __future__ import annotations

from rollgate.domain.shared.errors import ConcurrencyNotReady, RollgateError
from rollgate.domain.shared.models import ConcurrencyProgress, DeploymentContext, Evidence
from rollgate.domain.shared.ports import LambdaApi, ProvisionedConcurrencyConfig


def wanted_executions(ctx: DeploymentContext) -> int:
    asked = ctx.request.provisioned_concurrency
    return asked.executions if asked is not None else ctx.require_baseline().live_provisioned_concurrency


def provision(ctx: DeploymentContext, *, lambda_api: LambdaApi) -> ConcurrencyProgress:
    """ProvisionConcurrency: allocate on the new version (if anything is wanted) and report where
    the allocation stands."""
    baseline, version = ctx.require_baseline(), ctx.require_version()
    asked = ctx.request.provisioned_concurrency
    progress = ConcurrencyProgress(
        status="Skipped",
        version=version.version,
        executions=wanted_executions(ctx),
        previous_version=baseline.live_version,
        previous_executions=baseline.live_provisioned_concurrency,
        max_polls=asked.max_polls if asked else ConcurrencyProgress.model_fields["max_polls"].default,
        poll_interval_seconds=(
            asked.poll_interval_seconds if asked else ConcurrencyProgress.model_fields["poll_interval_seconds"].default
        ),
    )
    if version.version == baseline.live_version or not progress.executions:
        why = "already live" if version.version == baseline.live_version else "none asked for, none on the live version"
        note = Evidence(
            check="provisioned_concurrency", ok=True, detail=f"no provisioned concurrency to allocate ({why})"
        )
        return progress.model_copy(update={"evidence": [note]})
    current = lambda_api.get_provisioned_concurrency(ctx.function_name, version.version)
    if current is None or current.requested != progress.executions:
        lambda_api.put_provisioned_concurrency(ctx.function_name, version.version, progress.executions)
    note = Evidence(
        check="provisioned_concurrency",
        ok=True,
        detail=f"{progress.executions} provisioned environment(s) requested on v{version.version} before any traffic",
        data={"executions": progress.executions},
    )
    current = lambda_api.get_provisioned_concurrency(ctx.function_name, version.version)
    return _judge(progress.model_copy(update={"evidence": [note]}), current, polls=0)


def converge_concurrency(ctx: DeploymentContext, *, lambda_api: LambdaApi) -> ConcurrencyProgress:
    """ProvisionConcurrency (no record yet: allocate) and CheckConcurrency (one READY poll; past
    the budget the release is rolled back)."""
    progress = ctx.concurrency
    if progress is None:
        return provision(ctx, lambda_api=lambda_api)
    if progress.status != "InProgress":
        return progress
    current = lambda_api.get_provisioned_concurrency(ctx.function_name, progress.version)
    if current is None:  # deleted behind our back: ask again, and keep polling
        lambda_api.put_provisioned_concurrency(ctx.function_name, progress.version, progress.executions)
    return _judge(progress, current, polls=progress.polls + 1)


def _judge(
    progress: ConcurrencyProgress, current: ProvisionedConcurrencyConfig | None, *, polls: int
) -> ConcurrencyProgress:
    """Ready, still in progress, or (failed, out of budget) ConcurrencyNotReady."""
    if current is not None and current.status == "FAILED":
        raise ConcurrencyNotReady(
            f"provisioned concurrency of v{progress.version} failed: {current.reason or 'no reason given'}"
        )
    if current is not None and current.status == "READY" and current.available >= progress.executions:
        note = Evidence(
            check="provisioned_concurrency_ready",
            ok=True,
            detail=f"v{progress.version}: {current.available} provisioned environment(s) READY after {polls} poll(s)",
        )
        return progress.model_copy(update={"status": "Ready", "polls": polls, "evidence": [*progress.evidence, note]})
    if polls >= progress.max_polls:
        waited = polls * progress.poll_interval_seconds
        allocated = current.allocated if current else 0
        raise ConcurrencyNotReady(
            f"provisioned concurrency of v{progress.version} not READY after {polls} polls ({waited} s): "
            f"{allocated} of {progress.executions} allocated"
        )
    return progress.model_copy(update={"status": "InProgress", "polls": polls})


def release_previous(ctx: DeploymentContext, *, lambda_api: LambdaApi) -> ConcurrencyProgress | None:
    """ReleaseConcurrency, after promotion: the previous version serves nothing through this alias
    any more, so its allocation (a standing cost) goes, unless another alias still routes to it."""
    progress = ctx.concurrency
    baseline, version = ctx.require_baseline(), ctx.require_version()
    previous = baseline.live_version
    if version.version == previous or not baseline.live_provisioned_concurrency:
        return progress
    record = progress or ConcurrencyProgress(status="Skipped", version=version.version, previous_version=previous)
    routing = lambda_api.get_alias(ctx.function_name, ctx.alias)
    if routing.version != version.version or routing.additional_weights:
        note = Evidence(
            check="release_concurrency",
            ok=False,
            detail=f"kept v{previous}'s provisioned concurrency: alias {ctx.alias} is not wholly on v{version.version}",
        )
        return record.model_copy(update={"evidence": [*record.evidence, note]})
    others = [
        a.name
        for a in lambda_api.list_aliases(ctx.function_name)
        if a.name != ctx.alias and (a.version == previous or previous in a.additional_weights)
    ]
    if others:
        detail = f"kept v{previous}'s provisioned concurrency: alias(es) {', '.join(others)} still route to it"
    else:
        lambda_api.delete_provisioned_concurrency(ctx.function_name, previous)
        detail = f"released v{previous}'s provisioned concurrency ({baseline.live_provisioned_concurrency})"
    note = Evidence(check="release_concurrency", ok=True, detail=detail)
    return record.model_copy(update={"status": "Released", "evidence": [*record.evidence, note]})


def restore_on_rollback(ctx: DeploymentContext, *, lambda_api: LambdaApi) -> list[Evidence]:
    """Rollback: the new version's allocation released, the previous version's put back if gone.
    A failure here is recorded, never a reason to doubt the alias (already verified back)."""
    baseline = ctx.baseline
    if baseline is None:
        return []
    notes: list[Evidence] = []
    try:
        progress = ctx.concurrency
        if progress is not None and progress.status != "Skipped" and progress.version != baseline.live_version:
            lambda_api.delete_provisioned_concurrency(ctx.function_name, progress.version)
            notes.append(
                Evidence(check="concurrency_released", ok=True, detail=f"released v{progress.version}'s allocation")
            )
        wanted = baseline.live_provisioned_concurrency
        if wanted:
            current = lambda_api.get_provisioned_concurrency(ctx.function_name, baseline.live_version)
            if current is None or current.requested != wanted:
                lambda_api.put_provisioned_concurrency(ctx.function_name, baseline.live_version, wanted)
                notes.append(
                    Evidence(
                        check="concurrency_restored",
                        ok=True,
                        detail=f"{wanted} provisioned environment(s) requested again on v{baseline.live_version}",
                    )
                )
    except RollgateError as error:
        notes.append(
            Evidence(
                check="concurrency_restored",
                ok=False,
                detail=f"provisioned concurrency not restored ({type(error).__name__}: {error}); check it by hand",
            )
        )
    return notes
