"""The shipped "what next" of gates 6 and 7, run over in-memory ports.

The DeployFunction state machine routes the canary and the watch on the `next` answer of each task
record (CanaryNext? and WatchNext?), waiting what the record says (Bake, WatchWait) before judging
again. `ROUTES` below is that routing as data, and `run_gates` follows it by calling the very
domain functions the task handlers call. The benchmark and the unit tests use `run_gates` instead
of a loop of their own, and tests/infra ties every route here to the synthesized state machine, so
there is one copy of "what next": the tasks decide it, the state machine and `ROUTES` only route.

`run_gates` does not roll back: it stops at the decision (the caller's world restores the alias,
as the Rollback state does) and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from rollgate.domain.deploy import canary, controls
from rollgate.domain.deploy.canary import Judge
from rollgate.domain.deploy.outcome import decide, deciding_kind, rollback_cause, verification
from rollgate.domain.judge.verdict import judge as shipped_judge
from rollgate.domain.shared.errors import RollgateError
from rollgate.domain.shared.models import (
    CanaryProgress,
    DeploymentContext,
    StepError,
    VerdictSummary,
    WatchConclusion,
    WatchProgress,
)
from rollgate.domain.shared.ports import HealthProbes, LambdaApi, Ledger


class SteppedClock(Protocol):
    """A clock the loop moves: the state machine's Wait states, in virtual time."""

    def now(self) -> datetime: ...
    def advance(self, seconds: float) -> None: ...


@dataclass
class GatePorts:
    """What the canary and watch tasks read and move, as the task handlers get it from boto3."""

    lambda_api: LambdaApi
    ledger: Ledger
    probes: HealthProbes
    clock: SteppedClock


@dataclass(frozen=True)
class Route:
    """Where one `next` answer leads: optionally a Wait of the record's `wait_seconds`, then the
    task module that runs next, whose record goes to `result_key`; `stop` ends the loop (Rollback
    or Record take over)."""

    module: str | None
    result_key: str | None = None
    wait: bool = False

    @property
    def stop(self) -> bool:
        return self.module is None


_STOP = Route(module=None)

#: record key ("canary" | "watch") -> `next` answer -> route. The same routing as the CanaryNext?
#: and WatchNext? Choice states (tests/infra/test_deploy_workflow.py checks each route there).
ROUTES: dict[str, dict[str, Route]] = {
    "canary": {
        "bake": Route("judge_canary", "canary", wait=True),
        "shift": Route("shift_traffic", "canary"),
        "promote": Route("promote", "watch"),
        # AwaitApproval (a task token): the person's answer is the canary record it continues with
        "approve": Route("await_approval", "canary"),
        "rollback": _STOP,
    },
    "watch": {
        "watch": Route("judge_watch", "watch", wait=True),
        "control": Route("promote", "watch"),
        "complete": Route("promote", "watch"),
        "rollback": _STOP,
        "done": _STOP,
    },
}

#: The answer after which the state machine leaves the loop with the alias on the new version (on to
#: PostTrafficHook, ReleaseConcurrency and Prune, then Record).
#: Every other answer that leaves the loop goes to Rollback, as does an answer a Choice has no rule
#: for (both Choices default to Rollback: a Choice cannot Catch).
DONE = "done"

#: Where the loop starts: SmokeTest -> ShiftTraffic.
ENTRY = Route("shift_traffic", "canary")


@dataclass
class GateRun:
    """Where the gates stopped. `conclusion` is PROMOTED, PROMOTED_UNVERIFIED (the watch ended
    INCONCLUSIVE and the policy said promote_unverified) or ROLLED_BACK (the caller restores the
    alias)."""

    conclusion: str
    verdicts: list[VerdictSummary]
    decided_by: str | None
    time_to_detect_seconds: float | None
    reason: str
    #: the deployment document as the Rollback/Record state would receive it
    context: DeploymentContext
    #: the task modules run, in order (e.g. for a test that asserts the path taken)
    path: list[str] = field(default_factory=list)


Step = Callable[[DeploymentContext, GatePorts, Judge], CanaryProgress | WatchProgress]

#: Task module -> its domain call, as rollgate.tasks.<module> makes it.
STEPS: dict[str, Step] = {
    "shift_traffic": lambda c, p, j: canary.shift_traffic(c, lambda_api=p.lambda_api, ledger=p.ledger, clock=p.clock),
    "judge_canary": lambda c, p, j: canary.judge_canary(
        c, lambda_api=p.lambda_api, probes=p.probes, ledger=p.ledger, clock=p.clock, judge_fn=j
    ),
    "promote": lambda c, p, j: canary.promote_version(c, lambda_api=p.lambda_api, ledger=p.ledger, clock=p.clock),
    "judge_watch": lambda c, p, j: canary.judge_watch(c, probes=p.probes, ledger=p.ledger, clock=p.clock, judge_fn=j),
    # in memory, a person answers through the control log (rollgate.domain.deploy.controls)
    "await_approval": lambda c, p, j: controls.answer_from_log(c, p.ledger, p.clock),
}
_JUDGING = frozenset({"judge_canary", "judge_watch"})


def run_gates(
    ctx: DeploymentContext,
    ports: GatePorts,
    *,
    judge: Judge = shipped_judge,
    on_verdict: Callable[[VerdictSummary], None] | None = None,
) -> GateRun:
    """Run the canary and the watch of `ctx` (the context as it is after the smoke gate, baseline
    captured) to their decision, the way the DeployFunction state machine does."""
    verdicts: list[VerdictSummary] = []
    path: list[str] = []
    doc = ctx
    route = ENTRY
    answer = ""
    try:
        while route.module is not None and route.result_key is not None:
            key = route.result_key
            if route.wait:
                ports.clock.advance(getattr(doc, key).wait_seconds)
            before = getattr(doc, key)
            record = STEPS[route.module](doc, ports, judge)
            path.append(route.module)
            doc = doc.model_copy(update={key: record})
            # a log poll that found nothing records no verdict: only a new one is the run's
            latest = record.verdicts[-1] if record.verdicts else None
            if route.module in _JUDGING and latest is not None and (before is None or before.verdicts[-1:] != [latest]):
                verdicts.append(latest)
                if on_verdict is not None:
                    on_verdict(latest)
            answer = record.next
            route = ROUTES[key].get(answer, _STOP)  # no rule: the Choice's Default, Rollback
    except RollgateError as error:
        # every Task from ShiftTraffic on catches into Rollback
        doc = doc.model_copy(update={"error": StepError(Error=type(error).__name__, Cause=str(error))})
        answer = "rollback"
    return _conclude(doc, answer, verdicts, path)


def _conclude(doc: DeploymentContext, answer: str, verdicts: list[VerdictSummary], path: list[str]) -> GateRun:
    if answer != DONE or doc.error is not None:
        conclusion, reason = "ROLLED_BACK", rollback_cause(doc)
    else:
        status, reason = decide(doc)
        unverified = verification(doc) is WatchConclusion.UNVERIFIED
        conclusion = "PROMOTED_UNVERIFIED" if unverified else status.value
    return GateRun(
        conclusion=conclusion,
        verdicts=verdicts,
        decided_by=deciding_kind(doc),
        time_to_detect_seconds=_time_to_detect(doc, verdicts),
        reason=reason,
        context=doc,
        path=path,
    )


def _time_to_detect(doc: DeploymentContext, verdicts: list[VerdictSummary]) -> float | None:
    """First user traffic on the new version to the first UNHEALTHY verdict."""
    if doc.canary is None:
        return None
    unhealthy = [v.at for v in verdicts if v.outcome == "UNHEALTHY"]
    return (min(unhealthy) - doc.canary.canary_started_at).total_seconds() if unhealthy else None
