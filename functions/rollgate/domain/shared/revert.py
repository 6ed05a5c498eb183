"""Put a promoted function back on the version that was live before it.

Shared by the Release workflow (atomic rollback of the functions a failed release promoted) and the
Remediate workflow (an alarm, or an operator, blames the latest promotion). It takes the alias's
lease like a deployment, so it never interleaves with one, and it acts only when the alias still
routes all traffic to the promoted version: if someone has deployed since, that is not ours to undo.

Provisioned concurrency follows the traffic. After a promotion ReleaseConcurrency has freed the
previous version's allocation, so moving the alias alone would put every request on cold starts:
once the alias is back (in an incident it moves first), the restored version is given the promoted
version's allocation, or what the promotion's baseline recorded when that is gone, and the promoted
version's allocation is released. Nobody waits for READY: its status is recorded in the evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from rollgate.contract import Status
from rollgate.domain.shared.errors import RollgateError
from rollgate.domain.shared.models import Evidence, Lenient, SmokeTest
from rollgate.domain.shared.ports import Clock, LambdaApi, Lease, Ledger, ProvisionedConcurrencyConfig
from rollgate.domain.shared.records import DeploymentRecord
from rollgate.domain.shared.routing import describe, restore
from rollgate.domain.shared.smoke import run_smoke_tests

REVERT_LEASE_SECONDS = 900


class RevertReport(Lenient):
    function_name: str
    alias: str
    status: Literal["RESTORED", "ALREADY_RESTORED", "MOVED_ON"]
    promoted_version: str
    restore_version: str
    detail: str
    smoke_passed: bool | None = None
    at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


def revert_promotion(
    function_name: str,
    alias: str,
    *,
    promoted_version: str,
    restore_version: str,
    smoke_tests: list[dict[str, Any]],
    holder: str,
    lambda_api: LambdaApi,
    ledger: Ledger,
    clock: Clock,
) -> RevertReport:
    """Alias from `promoted_version` back to `restore_version`, verified by reading it back, then
    the provisioned concurrency moved with it and a smoke test of the restored version. Idempotent:
    already restored is reported, not redone (an allocation a crashed run left unmoved is moved).
    Raises DeploymentInProgress when a deployment holds the alias, RollbackFailed when the alias
    cannot be verified."""
    now = clock.now()
    ledger.acquire_lease(
        Lease(
            function_name=function_name,
            alias=alias,
            holder=holder,
            acquired_at=now,
            expires_at=now + timedelta(seconds=REVERT_LEASE_SECONDS),
            detail={"purpose": "revert"},
        )
    )
    try:
        return _revert(
            function_name,
            alias,
            promoted_version,
            restore_version,
            smoke_tests,
            lambda_api=lambda_api,
            ledger=ledger,
            clock=clock,
        )
    finally:
        ledger.release_lease(function_name, alias, holder)


def _revert(
    function_name: str,
    alias: str,
    promoted_version: str,
    restore_version: str,
    smoke_tests: list[dict[str, Any]],
    *,
    lambda_api: LambdaApi,
    ledger: Ledger,
    clock: Clock,
) -> RevertReport:
    routing = lambda_api.get_alias(function_name, alias)
    report = {
        "function_name": function_name,
        "alias": alias,
        "promoted_version": promoted_version,
        "restore_version": restore_version,
    }
    if routing.version == restore_version and not routing.additional_weights:
        status: Literal["RESTORED", "ALREADY_RESTORED", "MOVED_ON"] = "ALREADY_RESTORED"
        detail = f"alias {alias} already routes 100% v{restore_version}; nothing to do"
    elif routing.version == promoted_version and not routing.additional_weights:
        routing, _ = restore(lambda_api, function_name, alias, version=restore_version)
        status, detail = "RESTORED", f"alias {alias} moved from v{promoted_version} back to {describe(routing)}"
    else:
        return RevertReport(
            **report,
            status="MOVED_ON",
            detail=(
                f"alias {alias} now routes {describe(routing)}, not v{promoted_version}: it changed after "
                "the promotion, so it was left alone"
            ),
            at=clock.now(),
            evidence=[Evidence(check="alias_unchanged", ok=False, detail=f"alias {alias} routes {describe(routing)}")],
        )
    evidence = [Evidence(check="alias_restored", ok=True, detail=detail)]
    evidence += _move_concurrency(
        function_name, alias, promoted_version, restore_version, lambda_api=lambda_api, ledger=ledger
    )
    tests = [SmokeTest.model_validate(test) for test in smoke_tests]
    smoke = run_smoke_tests(function_name, restore_version, tests, lambda_api=lambda_api, clock=clock)
    evidence += smoke.evidence
    return RevertReport(
        **report,
        status=status,
        detail=detail,
        smoke_passed=smoke.passed if tests else None,
        at=clock.now(),
        evidence=evidence,
    )


def _move_concurrency(
    function_name: str, alias: str, promoted: str, restore: str, *, lambda_api: LambdaApi, ledger: Ledger
) -> list[Evidence]:
    """The restored version warm again, the promoted one's allocation released; called with the
    alias already back. Every step re-reads the allocations, so a rerun changes nothing twice. A
    failure is recorded, never a reason to doubt the alias (already verified back)."""
    try:
        qualifiers = set(lambda_api.provisioned_concurrency_versions(function_name))
        on_promoted = _allocation(lambda_api, function_name, promoted, qualifiers)
        on_restored = _allocation(lambda_api, function_name, restore, qualifiers)
        if on_promoted is not None:
            wanted, source = on_promoted.requested, f"v{promoted}'s allocation"
        else:
            wanted = _recorded_allocation(ledger, function_name, alias, promoted=promoted, restore=restore)
            source = f"v{restore}'s allocation before the promotion (its baseline in the ledger)"
        if not wanted and on_restored is None and on_promoted is None:
            return []  # nothing was warm before or after the promotion
        notes: list[Evidence] = []
        if wanted and (on_restored is None or on_restored.requested < wanted):
            lambda_api.put_provisioned_concurrency(function_name, restore, wanted)
            on_restored = lambda_api.get_provisioned_concurrency(function_name, restore)
            action = f"{wanted} provisioned environment(s) requested on v{restore} ({source})"
        elif on_restored is not None:
            action = f"v{restore} already has {on_restored.requested} provisioned environment(s)"
        else:
            action = f"no provisioned concurrency to put on v{restore}"
        status = on_restored.status if on_restored is not None else "NONE"
        notes.append(
            Evidence(
                check="concurrency_restored",
                ok=True,
                detail=f"{action}; status {status} (not waited for: the alias moved first)",
                data={
                    "version": restore,
                    "executions": on_restored.requested if on_restored is not None else 0,
                    "allocated": on_restored.allocated if on_restored is not None else 0,
                    "status": status,
                },
            )
        )
        if on_promoted is not None:
            notes.append(_release_promoted(lambda_api, function_name, alias, promoted, on_promoted))
        return notes
    except RollgateError as error:
        return [
            Evidence(
                check="concurrency_restored",
                ok=False,
                detail=f"provisioned concurrency not moved to v{restore} ({type(error).__name__}: {error}); "
                "check it by hand",
            )
        ]


def _allocation(
    lambda_api: LambdaApi, function_name: str, version: str, qualifiers: set[str]
) -> ProvisionedConcurrencyConfig | None:
    # listed first: a function without any allocation costs one read, not one per version
    return lambda_api.get_provisioned_concurrency(function_name, version) if version in qualifiers else None


def _release_promoted(
    lambda_api: LambdaApi, function_name: str, alias: str, promoted: str, allocation: ProvisionedConcurrencyConfig
) -> Evidence:
    """The promoted version serves nothing through this alias any more; another alias may still
    route to it, and then its allocation is theirs."""
    others = [
        a.name
        for a in lambda_api.list_aliases(function_name)
        if a.name != alias and (a.version == promoted or promoted in a.additional_weights)
    ]
    if others:
        detail = f"kept v{promoted}'s provisioned concurrency: alias(es) {', '.join(others)} still route to it"
    else:
        lambda_api.delete_provisioned_concurrency(function_name, promoted)
        detail = f"released v{promoted}'s provisioned concurrency ({allocation.requested})"
    return Evidence(check="concurrency_released", ok=True, detail=detail, data={"version": promoted})


def _recorded_allocation(ledger: Ledger, function_name: str, alias: str, *, promoted: str, restore: str) -> int:
    """What preflight of the promotion saw on the version it replaced (its `provisioned_concurrency`
    check), for when the promoted version's allocation is gone (a rerun, or deleted by hand)."""
    for record in ledger.list_deployments(function_name, alias, limit=50):
        if (
            isinstance(record, DeploymentRecord)
            and record.status is Status.PROMOTED
            and (record.to_version, record.from_version) == (promoted, restore)
        ):
            for note in record.evidence.get("preflight", []):
                if note.check == "provisioned_concurrency":
                    live = note.data.get("live")
                    # the record is JSON: a number, or absent in a record older than the check's data
                    return int(live) if isinstance(live, int | float) and not isinstance(live, bool) else 0
            return 0
    return 0
