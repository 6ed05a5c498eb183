"""Pruning old versions: Lambda's code storage is a per-region quota, and every release publishes.

`plan_prune` is pure over what it reads: it keeps the newest `keep_last` versions, every version an
alias routes to (weights included), every version with provisioned concurrency or an event source
mapping bound to it, every version newer than `newest` (a concurrent deployment of another alias
may have just published it), and every version a ledger record of the last `keep_days` days names
(a rollback or a remediation may go back to it). The rest, oldest first and at most
`max_deletions`, is deleted. A version still routed is never deleted: the aliases are re-read
right before the deletions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollgate.domain.shared.models import DeploymentContext, Evidence, PrunePolicy, PruneReport
from rollgate.domain.shared.ports import Clock, LambdaApi, Ledger

#: Ledger records read per prune; a function with more within `keep_days` is not pruned at all.
LEDGER_PAGE = 200
_VERSION_FIELDS = ("from_version", "to_version", "restored_version", "live_version")


def _qualifier(function_arn: str) -> str | None:
    parts = function_arn.split(":")
    return parts[7] if len(parts) > 7 else None


def _routed(lambda_api: LambdaApi, function_name: str) -> dict[str, str]:
    kept: dict[str, str] = {}
    for alias in lambda_api.list_aliases(function_name):
        for version in (alias.version, *alias.additional_weights):
            kept.setdefault(version, f"alias {alias.name} routes to it")
    return kept


def _ledger_versions(ledger: Ledger, function_name: str, since: datetime) -> dict[str, str] | None:
    """Versions the recent records name; None when there are more recent records than one page."""
    records = ledger.list_deployments(function_name, None, LEDGER_PAGE)
    named: dict[str, str] = {}
    for record in records:
        when = _moment(record.finished_at or record.started_at)
        if when is not None and when < since:
            continue
        stored = record.document()  # a record of a kind this code does not know may name versions too
        for field in _VERSION_FIELDS:
            value = stored.get(field)
            if isinstance(value, str) and value.isdigit():
                named.setdefault(value, f"ledger record {record.deployment_id} names it")
    if len(records) >= LEDGER_PAGE:
        oldest = _moment(records[-1].finished_at or records[-1].started_at)
        if oldest is None or oldest >= since:
            return None
    return named


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def plan_prune(
    function_name: str,
    policy: PrunePolicy,
    *,
    lambda_api: LambdaApi,
    ledger: Ledger,
    clock: Clock,
    newest: str | None = None,
    protect: dict[str, str] | None = None,
) -> PruneReport:
    """What pruning would delete now, and why every other version stays (`protect`: versions the
    caller knows are needed, with why)."""
    now = clock.now()
    numbers = sorted((int(v.version) for v in lambda_api.list_versions(function_name)), reverse=True)
    kept: dict[str, str] = dict(protect or {})
    for number in numbers[: policy.keep_last]:
        kept[str(number)] = f"one of the newest {policy.keep_last}"
    if newest is not None:
        for number in numbers:
            if number > int(newest):
                kept.setdefault(str(number), f"newer than v{newest}, the version this release promoted")
    for version, why in _routed(lambda_api, function_name).items():
        kept.setdefault(version, why)
    for version in lambda_api.provisioned_concurrency_versions(function_name):
        kept.setdefault(version, "it has provisioned concurrency")
    for mapping in lambda_api.list_event_source_mappings(function_name):
        qualifier = _qualifier(mapping.function_arn)
        if qualifier:
            kept.setdefault(qualifier, f"event source mapping {mapping.uuid} invokes it")
    recent = _ledger_versions(ledger, function_name, now - timedelta(days=policy.keep_days))
    if recent is None:
        why = f"the ledger has over {LEDGER_PAGE} records in {policy.keep_days} days; not pruning on a partial read"
        kept.update({str(n): why for n in numbers if str(n) not in kept})
    else:
        for version, why in recent.items():
            kept.setdefault(version, why)
    candidates = [str(n) for n in sorted(numbers) if str(n) not in kept]
    deleted = candidates[: policy.max_deletions]
    for version in candidates[policy.max_deletions :]:
        kept[version] = f"over max_deletions ({policy.max_deletions}) for one run"
    return PruneReport(
        deleted=deleted, kept={v: kept[v] for v in sorted(kept, key=lambda v: int(v) if v.isdigit() else -1)}, at=now
    )


def prune_versions(
    function_name: str,
    policy: PrunePolicy,
    *,
    lambda_api: LambdaApi,
    ledger: Ledger,
    clock: Clock,
    newest: str | None = None,
    protect: dict[str, str] | None = None,
    dry_run: bool = False,
) -> PruneReport:
    plan = plan_prune(
        function_name, policy, lambda_api=lambda_api, ledger=ledger, clock=clock, newest=newest, protect=protect
    )
    if dry_run or not plan.deleted:
        listed = ", ".join("v" + v for v in plan.deleted)
        detail = f"would delete {listed}" if plan.deleted else "nothing to delete"
        note = Evidence(check="prune", ok=True, detail=detail, data={"kept": len(plan.kept)})
        return plan.model_copy(update={"dry_run": dry_run, "evidence": [note]})
    # routing may have changed since the plan was read: never delete a version an alias routes to
    routed = _routed(lambda_api, function_name)
    kept = dict(plan.kept)
    deleted = []
    for version in plan.deleted:
        if version in routed:
            kept[version] = routed[version]
            continue
        lambda_api.delete_version(function_name, version)
        deleted.append(version)
    detail = f"deleted {', '.join('v' + v for v in deleted)}; kept {len(kept)}" if deleted else "nothing to delete"
    note = Evidence(check="prune", ok=True, detail=detail, data={"deleted": deleted})
    return plan.model_copy(update={"deleted": deleted, "kept": kept, "evidence": [note]})


def prune_after_promotion(
    ctx: DeploymentContext, *, lambda_api: LambdaApi, ledger: Ledger, clock: Clock
) -> PruneReport:
    """Prune: after a promotion only, and never a version newer than the one promoted."""
    policy = ctx.request.prune
    version = ctx.require_version().version
    if not policy.enabled or ctx.require_baseline().already_live:
        why = "prune.enabled is false" if not policy.enabled else "already live: nothing was published"
        return PruneReport(at=clock.now(), evidence=[Evidence(check="prune", ok=True, detail=f"not pruning ({why})")])
    replaced = ctx.require_baseline().live_version
    return prune_versions(
        ctx.function_name,
        policy,
        lambda_api=lambda_api,
        ledger=ledger,
        clock=clock,
        newest=version,
        protect={replaced: "the version this release replaced (a rollback or remediation returns to it)"},
    )
