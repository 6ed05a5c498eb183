"""Put a promoted function back on the version that was live before it.

Shared by the Release workflow (atomic rollback of the functions a failed release promoted) and the
Remediate workflow (an alarm, or an operator, blames the latest promotion). It takes the alias's
lease like a deployment, so it never interleaves with one, and it acts only when the alias still
routes all traffic to the promoted version: if someone has deployed since, that is not ours to undo.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from rollgate.domain.models import Evidence, Lenient, SmokeTest
from rollgate.domain.ports import Clock, LambdaApi, Lease, Ledger
from rollgate.domain.routing import describe, restore
from rollgate.domain.smoke import run_smoke_tests

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
    """Alias from `promoted_version` back to `restore_version`, verified by reading it back, then a
    smoke test of the restored version. Idempotent: already restored is reported, not redone.
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
            function_name, alias, promoted_version, restore_version, smoke_tests, lambda_api=lambda_api, clock=clock
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
