"""The team's own checks: pre-traffic and post-traffic hook functions.

A hook is a Lambda the team owns (CodeDeploy's BeforeAllowTraffic / AfterAllowTraffic, Flagger's
webhooks). It is invoked synchronously with the deployment's context and answers
``{"status": "pass" | "fail", "reason": "..."}``. It fails closed: a "fail", a function error, an
answer of any other shape, or no answer within the hook's `timeout_seconds` fails the release
(pre-traffic: rejected before any user traffic; post-traffic: rolled back). A pass is recorded as
evidence; a failure's reason (the hook's own words) is the outcome's reason.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from rollgate.domain.shared.errors import HookFailed
from rollgate.domain.shared.models import DeploymentContext, Evidence, Hook, HookReport
from rollgate.domain.shared.ports import Clock, HookInvoker

Phase = Literal["pre_traffic", "post_traffic"]
_REASON_LIMIT = 500


def hook_payload(ctx: DeploymentContext, phase: Phase) -> dict[str, Any]:
    """What the hook is told: enough to test the new version directly (by its qualifier)."""
    baseline, version = ctx.require_baseline(), ctx.require_version()
    provenance = ctx.request.provenance
    return {
        "phase": phase,
        "deployment_id": ctx.deployment_id,
        "function_name": ctx.function_name,
        "alias": ctx.alias,
        "new_version": version.version,
        "previous_version": baseline.live_version,
        "code_sha256": version.code_sha256,
        "artifact": ctx.request.artifact.describe(),
        "release_id": provenance.release_id,
        "commit": provenance.commit,
        "trigger": provenance.trigger,
    }


def _answer(payload: Any) -> tuple[bool, str]:
    """(passed, reason) from the hook's answer; an answer of any other shape is a failure."""
    if isinstance(payload, dict) and payload.get("status") in ("pass", "fail"):
        reason = payload.get("reason")
        text = reason if isinstance(reason, str) and reason else "(no reason given)"
        return payload["status"] == "pass", text[:_REASON_LIMIT]
    shown = json.dumps(payload, default=str)[:200]
    return False, f'answered {shown}, not {{"status": "pass" | "fail", "reason": …}}: failing closed'


def run_hook(ctx: DeploymentContext, phase: Phase, *, hooks: HookInvoker, clock: Clock) -> HookReport:
    hook: Hook | None = getattr(ctx.request.hooks, phase)
    label = phase.replace("_", "-")
    if hook is None or ctx.require_baseline().already_live:
        why = "no hook configured" if hook is None else "already live: nothing was released"
        return HookReport(
            phase=phase,
            status="skipped",
            reason=why,
            at=clock.now(),
            evidence=[Evidence(check=f"{phase}_hook", ok=True, detail=f"{label} hook skipped ({why})")],
        )
    started = clock.now()
    result = hooks.invoke_hook(hook.function, hook_payload(ctx, phase), hook.timeout_seconds)
    if result.function_error:
        raise HookFailed(
            f"{label} hook {hook.function} raised {result.function_error}: "
            f"{json.dumps(result.payload, default=str)[:_REASON_LIMIT]}"
        )
    passed, reason = _answer(result.payload)
    if not passed:
        raise HookFailed(f"{label} hook {hook.function} failed: {reason}")
    seconds = (clock.now() - started).total_seconds()
    return HookReport(
        phase=phase,
        function=hook.function,
        status="passed",
        reason=reason,
        at=clock.now(),
        evidence=[
            Evidence(
                check=f"{phase}_hook",
                ok=True,
                detail=f"{label} hook {hook.function} passed in {seconds:.0f} s: {reason}",
                data={"function": hook.function, "status": "pass", "reason": reason},
            )
        ],
    )
