"""Gate 8 — put the alias back on the version that was live before, verify, smoke-test it."""

from __future__ import annotations

from rollgate.domain.deploy.concurrency import restore_on_rollback
from rollgate.domain.shared.errors import RollgateError
from rollgate.domain.shared.models import DeploymentContext, Evidence, RollbackReport
from rollgate.domain.shared.ports import Clock, LambdaApi
from rollgate.domain.shared.routing import describe, restore
from rollgate.domain.shared.smoke import run_smoke_tests


def rollback_reason(ctx: DeploymentContext) -> str:
    """Why we are rolling back, in one line: the judge's verdict or the error that got us here."""
    for progress in (ctx.watch, ctx.canary):
        if progress is not None and progress.next == "rollback":
            # the failed checks say it best; the verdict headline only repeats them
            failed = [e.detail for e in progress.evidence if not e.ok and e.check != "verdict"]
            phase = "after promotion" if progress is ctx.watch else "during the canary"
            return f"unhealthy {phase}: " + ("; ".join(failed) or progress.verdicts[-1].summary)
    if ctx.error is not None:
        return f"{ctx.error.Error}: {ctx.error.message()}"
    return "rollback requested"


def roll_back(ctx: DeploymentContext, *, lambda_api: LambdaApi, clock: Clock) -> RollbackReport:
    baseline = ctx.require_baseline()
    routing, changed = restore(lambda_api, ctx.function_name, ctx.alias, version=baseline.live_version)
    evidence = [
        Evidence(
            check="alias_restored",
            ok=True,
            detail=f"alias {ctx.alias} reads back {describe(routing)}" + ("" if changed else " (it already did)"),
        )
    ]
    smoke_passed: bool | None
    try:
        smoke = run_smoke_tests(
            ctx.function_name, baseline.live_version, ctx.request.smoke_tests, lambda_api=lambda_api, clock=clock
        )
    except RollgateError as error:
        # the alias is restored and read back: a smoke test that cannot even be invoked says the
        # restored version is in doubt, it does not undo the rollback (nor make it "failed")
        evidence.append(Evidence(check="smoke", ok=False, detail=f"could not run on v{baseline.live_version}: {error}"))
        smoke_passed = False
    else:
        evidence += smoke.evidence
        smoke_passed = smoke.passed if ctx.request.smoke_tests else None
    # the previous version carries its own configuration: nothing is published; only provisioned
    # concurrency, which lives beside the versions, is put back as it was
    evidence += restore_on_rollback(ctx, lambda_api=lambda_api)
    return RollbackReport(
        restored_version=baseline.live_version,
        verified=True,
        smoke_passed=smoke_passed,
        reason=rollback_reason(ctx),
        at=clock.now(),
        evidence=evidence,
    )
