"""Operator controls of a deployment in flight: promote, promote --full, pause, resume, abort.

A person steers a running canary or watch by writing a control record into the ledger, beside the
lease of the function+alias. Each record names the deployment it is for (the lease holder: a
control for any other deployment is refused, so a control typed a minute late never reaches the
next, innocent deployment), who asked, why and when. The records are a log, never overwritten:
the deployment's evidence and the ledger say who steered it.

The canary and watch tasks read the deployment's log every time they judge and fold it into their
`next` answer (`steer_canary`, `steer_watch`), so the state machine's Choice states and
`gate_loop.run_gates` route a steered answer exactly like a judged one: no route of their own, one
copy of "what next".

- promote: skip the rest of the current step's bake (the next step, or the promotion after the
  last); in the watch, end the watch. Used once: the record's id goes into the progress record.
- promote_full: skip every remaining step and the watch (100% at once).
- pause: hold the weight where it is; judging goes on every period and a breach still rolls back.
  A pause holds at most `health.max_hold_seconds` in all (the lease is sized for it), then the
  deployment resumes by itself. resume (or a promote) ends a pause.
- abort: roll back now (DeploymentAborted, which every traffic-moving state catches into Rollback).

A control never overrides an UNHEALTHY verdict: the steering is consulted only after the judge
said the new version is not failing.

The approval gates (request/manifest `approval`) live here too: a healthy canary's last step asks
(`promotion_answer`: next=approve), AwaitApproval waits on a task token that `answer_approval`
answers (the CLI's `rollgate approve|reject` and the console's Control function alike), and
`timed_out` / `wave_gate_ended` take the policy's default; between a release's waves the same
answers let the next wave start or stop the release there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal, Protocol

from pydantic import Field

from rollgate.domain.deploy.start import function_name_of
from rollgate.domain.release.waves import ReleaseContext, wave_not_approved
from rollgate.domain.shared.errors import ApprovalRejected, DeploymentAborted, InvalidRequest
from rollgate.domain.shared.models import (
    CanaryProgress,
    DeploymentContext,
    Evidence,
    Lenient,
    StepError,
    Strict,
    parse_model,
)
from rollgate.domain.shared.ports import Clock, ControlLog, Ledger
from rollgate.domain.shared.triggers import DEFAULT_ALIAS
from rollgate.domain.shared.validation import AliasName, FunctionRef, LongText, StackHome, Text, check_document

#: The evidence check of every note a control leaves (carried from period to period).
NOTE_CHECK = "operator"


class Control(str, Enum):
    PROMOTE = "promote"
    PROMOTE_FULL = "promote_full"
    PAUSE = "pause"
    RESUME = "resume"
    ABORT = "abort"
    #: a person's answer to an approval gate (`rollgate approve|reject`): recorded here for the audit
    #: trail; the task token carries it to the execution
    APPROVE = "approve"
    REJECT = "reject"


class ControlRequest(Strict):
    """What `rollgate promote|pause|resume|abort` and the console's Control input send."""

    function_name: FunctionRef = Field(description="the function being deployed (name or ARN)")
    alias: AliasName = Field(default=DEFAULT_ALIAS, description="the alias being deployed")
    control: Control = Field(description="promote | promote_full | pause | resume | abort (approve | reject: audit)")
    reason: LongText = Field(default="no reason given", description="why (recorded in the ledger and the evidence)")
    requested_by: Text = Field(default="operator", description="who asks (recorded)")
    deployment_id: Text | None = Field(
        default=None,
        description="the deployment meant (default: the one holding the lease); refused unless it holds the lease",
    )


class ControlRecord(Lenient):
    """One control, as the ledger keeps it."""

    function_name: str
    alias: str
    deployment_id: str = Field(description="the deployment the control is for (the lease holder when asked)")
    control: Control
    requested_by: str
    reason: str
    requested_at: datetime

    @property
    def control_id(self) -> str:
        """Unique within a deployment's log; the key a progress record remembers a used control by."""
        return f"{self.requested_at.isoformat()}#{self.control.value}"

    def said(self) -> str:
        kind = self.control.value.replace("_", " --")
        return f"{kind} by {self.requested_by} at {self.requested_at:%H:%M:%S} ({self.reason})"


class ControlRefused(InvalidRequest):
    """A control for a deployment that is not running on the alias (not the lease holder)."""


# --------------------------------------------------------------------------- asking
def request_control(raw: Any, *, ledger: Ledger, clock: Clock, home: StackHome | None = None) -> ControlRecord:
    """Validate the request and write it into the deployment's control log. Refused (ControlRefused,
    nothing written) when no deployment holds the alias, or the one named is not the holder."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(control request): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    request = parse_model(ControlRequest, raw, home=home)
    function_name = function_name_of(request.function_name, home)
    if not isinstance(ledger, ControlLog):
        raise ControlRefused("this ledger keeps no control log")
    lease = ledger.current_lease(function_name, request.alias)
    target = f"{function_name}:{request.alias}"
    if lease is None:
        wanted = f" (asked for deployment {request.deployment_id})" if request.deployment_id else ""
        raise ControlRefused(f"no deployment of {target} is running{wanted}: nothing to {request.control.value}")
    if request.deployment_id is not None and request.deployment_id != lease.holder:
        raise ControlRefused(
            f"deployment {request.deployment_id} is not the one running on {target}: {lease.holder} holds its "
            f"lease; a control is only taken for the running deployment"
        )
    record = ControlRecord(
        function_name=function_name,
        alias=request.alias,
        deployment_id=lease.holder,
        control=request.control,
        requested_by=request.requested_by,
        reason=request.reason,
        requested_at=clock.now(),
    )
    ledger.put_control(record)
    return record


def controls_of(ctx: DeploymentContext, ledger: Ledger) -> list[ControlRecord]:
    """The deployment's control log, oldest first. A ledger that keeps none (the benchmark's: nobody
    steers a benchmark run) has no controls."""
    if not isinstance(ledger, ControlLog):
        return []
    records = ledger.list_controls(ctx.function_name, ctx.alias, ctx.deployment_id)
    return sorted((r for r in records if r.deployment_id == ctx.deployment_id), key=lambda r: r.requested_at)


# --------------------------------------------------------------------------- folding the log
@dataclass(frozen=True)
class ControlState:
    """What the log says now."""

    abort: ControlRecord | None = None
    promote_full: ControlRecord | None = None
    promotes: tuple[ControlRecord, ...] = ()
    #: the pause in force (None: not paused), and the seconds spent paused before it
    pause: ControlRecord | None = None
    paused_before_seconds: float = 0.0

    def paused_seconds(self, now: datetime) -> float:
        current = (now - self.pause.requested_at).total_seconds() if self.pause else 0.0
        return self.paused_before_seconds + max(0.0, current)


def fold(records: list[ControlRecord]) -> ControlState:
    """The log, oldest first, folded: the first abort and promote_full; every promote; the pause in
    force (a resume, a promote or a promote_full after a pause ends it) and the time already paused."""
    abort = full = pause = None
    promotes: list[ControlRecord] = []
    paused_before = 0.0
    for record in sorted(records, key=lambda r: r.requested_at):
        kind = record.control
        if kind is Control.ABORT:
            abort = abort or record
        elif kind is Control.PAUSE:
            pause = pause or record
        else:
            if pause is not None:
                paused_before += (record.requested_at - pause.requested_at).total_seconds()
                pause = None
            if kind is Control.PROMOTE_FULL:
                full = full or record
            elif kind is Control.PROMOTE:
                promotes.append(record)
    return ControlState(
        abort=abort, promote_full=full, promotes=tuple(promotes), pause=pause, paused_before_seconds=paused_before
    )


def raise_if_aborted(ctx: DeploymentContext, ledger: Ledger) -> None:
    """An operator's abort: roll back now (every task from ShiftTraffic on catches into Rollback)."""
    abort = fold(controls_of(ctx, ledger)).abort
    if abort is not None:
        raise DeploymentAborted(f"{ctx.function_name}:{ctx.alias} aborted by {abort.requested_by}: {abort.reason}")


# --------------------------------------------------------------------------- steering
@dataclass(frozen=True)
class Steering:
    """A controlled answer: `next` replaces the judge's, `notes` go into the evidence (carried),
    `applied` are the ids of the one-shot controls it used up."""

    next: str
    notes: list[Evidence] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    def update(self, evidence: list[Evidence], applied_before: list[str]) -> dict[str, Any]:
        """The fields of the progress record this steering changes."""
        fresh = [n for n in self.notes if n not in evidence]
        return {
            "next": self.next,
            "evidence": [*evidence, *fresh],
            "applied_controls": [*applied_before, *(a for a in self.applied if a not in applied_before)],
        }


def _note(record: ControlRecord, detail: str) -> Evidence:
    return Evidence(
        check=NOTE_CHECK,
        ok=True,
        detail=f"{record.said()}: {detail}",
        data={
            "control": record.control.value,
            "requested_by": record.requested_by,
            "reason": record.reason,
            "requested_at": record.requested_at.isoformat(),
        },
    )


def _pending_promote(state: ControlState, applied: set[str]) -> ControlRecord | None:
    return next((p for p in state.promotes if p.control_id not in applied), None)


def _hold(
    state: ControlState, now: datetime, max_pause_seconds: int, *, where: str, hold_answer: str
) -> Steering | None:
    pause = state.pause
    if pause is None or state.paused_seconds(now) >= max_pause_seconds:
        return None  # not paused, or the pause has run out: the deployment goes on by itself
    until = pause.requested_at + timedelta(seconds=max(0.0, max_pause_seconds - state.paused_before_seconds))
    return Steering(
        hold_answer,
        [
            _note(
                pause,
                f"holding {where}; judging goes on and a breach still rolls back; resumes with `rollgate resume` "
                f"or by itself at {until:%H:%M:%S} (health.max_hold_seconds)",
            )
        ],
    )


def steer_canary(
    state: ControlState,
    *,
    applied: list[str],
    now: datetime,
    weight: int,
    last_step: bool,
    max_pause_seconds: int,
) -> Steering | None:
    """The canary's answer under the operator's controls, for a verdict that is not UNHEALTHY;
    None: the judge's answer stands."""
    if state.promote_full is not None:
        full = state.promote_full
        return Steering(
            "promote",
            [_note(full, f"promoting now from {weight}%, skipping every remaining step and the watch")],
            [full.control_id],
        )
    pending = _pending_promote(state, set(applied))
    if pending is not None:
        detail = (
            "promoting now, skipping the rest of the last step's bake"
            if last_step
            else "moving to the next step now, skipping the rest of this step's bake"
        )
        return Steering(
            "promote" if last_step else "shift", [_note(pending, f"at {weight}%: {detail}")], [pending.control_id]
        )
    return _hold(state, now, max_pause_seconds, where=f"the canary at {weight}%", hold_answer="bake")


def steer_watch(
    state: ControlState,
    *,
    applied: list[str],
    now: datetime,
    watch_over: bool,
    weight: int,
    max_pause_seconds: int,
) -> Steering | None:
    """The watch's answer under the operator's controls, for a verdict that is not UNHEALTHY:
    "end" (the caller moves on as at a watch's end, promoted by the operator), "watch" (held), or
    None: the judge's answer stands. A pause holds only what would end: while the watch still runs
    it goes on as it is."""
    ending = state.promote_full or _pending_promote(state, set(applied))
    if ending is not None:
        return Steering(
            "end", [_note(ending, f"ending the watch now at {weight}%: promoting in full")], [ending.control_id]
        )
    if not watch_over:
        return None
    return _hold(state, now, max_pause_seconds, where=f"the watch at {weight}%", hold_answer="watch")


def full_promotion(ctx: DeploymentContext, ledger: Ledger) -> ControlRecord | None:
    """The promote_full asked for this deployment, if any: Promote then moves 100% and skips the watch."""
    return fold(controls_of(ctx, ledger)).promote_full


def notes_of(evidence: list[Evidence]) -> list[Evidence]:
    """The operators' notes among a record's evidence."""
    return [e for e in evidence if e.check == NOTE_CHECK]


def operator_promotion(evidence: list[Evidence]) -> Evidence | None:
    """The note of the control that ended the deployment's bake or watch early, if one did."""
    return next(
        (
            e
            for e in reversed(evidence)
            if e.check == NOTE_CHECK and e.data.get("control") in {"promote", "promote_full"}
        ),
        None,
    )


# --------------------------------------------------------------------------- approval before promotion
#: The error a rejected (or timed-out, on_timeout reject) approval fails AwaitApproval with; the
#: state machine's Catch takes it to Rollback.
REJECTED = "ApprovalRejected"


class ApprovalRequest(Lenient):
    """What an approval gate leaves in the ledger for `rollgate approve|reject EXECUTION`: the task
    token that answers it, and what the answer continues from: a deployment's canary record
    (AwaitApproval), or the wave a release is about to start (AwaitWaveApproval)."""

    function_name: str | None = Field(default=None, description="a deployment's gate: its function")
    alias: str | None = None
    deployment_id: str | None = None
    release_id: str | None = Field(default=None, description="a release's gate between waves: the release")
    wave: int | None = Field(default=None, description="the wave (from 0) waiting to start")
    execution_arn: str | None = None
    task_token: str = Field(description="SendTaskSuccess / SendTaskFailure answer it")
    asked_at: datetime
    timeout_seconds: int
    on_timeout: str
    canary: CanaryProgress | None = None

    @property
    def what(self) -> str:
        if self.wave is not None:
            return f"release {self.release_id}: wave {self.wave + 1}"
        return f"{self.function_name}:{self.alias}"


def promotion_answer(ctx: DeploymentContext, progress: CanaryProgress) -> str:
    """A healthy canary's last step is over: "promote", or "approve" first when the request asks for a
    person's go-ahead before the promotion and has none yet."""
    approval = ctx.request.approval
    if approval is not None and approval.before_promotion and not progress.approved:
        return "approve"
    return "promote"


def asking(progress: CanaryProgress, now: datetime) -> CanaryProgress:
    """The canary record that asks for approval (next=approve)."""
    return progress.model_copy(update={"next": "approve", "approval_asked_at": now})


def approval_request(ctx: DeploymentContext, *, task_token: str, now: datetime) -> ApprovalRequest:
    progress = ctx.canary
    policy = ctx.request.approval
    if progress is None or policy is None:
        raise InvalidRequest("approval: AwaitApproval runs after a canary that asked for approval")
    return ApprovalRequest(
        function_name=ctx.function_name,
        alias=ctx.alias,
        deployment_id=ctx.deployment_id,
        execution_arn=ctx.execution_arn,
        task_token=task_token,
        asked_at=progress.approval_asked_at or now,
        timeout_seconds=policy.timeout_seconds,
        on_timeout=policy.on_timeout,
        canary=progress,
    )


def approved(progress: CanaryProgress, *, by: str, reason: str, at: datetime, period_seconds: int) -> CanaryProgress:
    """The answer to AwaitApproval on approval: judge once more after one metric period (the canary
    was not judged while it waited), then promote."""
    note = Evidence(
        check=NOTE_CHECK,
        ok=True,
        detail=f"promotion approved by {by} at {at:%H:%M:%S} ({reason}): judging once more, then promoting",
        data={"control": "approve", "requested_by": by, "reason": reason, "requested_at": at.isoformat()},
    )
    evidence = [*progress.evidence, note]
    return progress.model_copy(
        update={"next": "bake", "approved": True, "wait_seconds": period_seconds, "evidence": evidence}
    )


def rejection(by: str, reason: str, at: datetime) -> str:
    """The cause AwaitApproval fails with (ApprovalRejected): the rollback's reason."""
    return f"promotion rejected by {by} at {at:%H:%M:%S}: {reason}"


def timed_out(ctx: DeploymentContext, at: datetime) -> CanaryProgress:
    """Nobody answered within timeout_seconds: on_timeout decides. Raises ApprovalRejected for
    reject; for approve, the same answer as an approval."""
    progress, policy = ctx.canary, ctx.request.approval
    if progress is None or policy is None:
        raise InvalidRequest("approval: ApprovalTimedOut runs after a canary that asked for approval")
    why = f"no answer within {policy.timeout_seconds} s; on_timeout is {policy.on_timeout}"
    if policy.on_timeout == "reject":
        raise ApprovalRejected(rejection("nobody", why, at))
    return approved(
        progress, by="nobody (by default)", reason=why, at=at, period_seconds=ctx.request.health.metric_period_seconds
    )


#: How often the in-memory AwaitApproval looks at the control log while it waits.
_LOOK_SECONDS = 10


class _SteppedClock(Protocol):
    def now(self) -> datetime: ...
    def advance(self, seconds: float) -> None: ...


def answer_from_log(ctx: DeploymentContext, ledger: Ledger, clock: _SteppedClock) -> CanaryProgress:
    """AwaitApproval in memory (gate_loop.run_gates, whose clock it moves as the state machine waits
    for the token): the first approve or reject in the control log since the ask answers it; none
    within timeout_seconds: on_timeout."""
    progress, policy = ctx.canary, ctx.request.approval
    if progress is None or policy is None:
        raise InvalidRequest("approval: AwaitApproval runs after a canary that asked for approval")
    asked = progress.approval_asked_at or clock.now()
    deadline = asked + timedelta(seconds=policy.timeout_seconds)
    while True:
        answers = [
            r
            for r in controls_of(ctx, ledger)
            if r.control in (Control.APPROVE, Control.REJECT) and asked <= r.requested_at <= deadline
        ]
        if answers or clock.now() >= deadline:
            break
        clock.advance(min(_LOOK_SECONDS, (deadline - clock.now()).total_seconds()))
    if not answers:
        return timed_out(ctx, clock.now())
    answer = answers[0]
    if answer.control is Control.REJECT:
        raise ApprovalRejected(rejection(answer.requested_by, answer.reason, answer.requested_at))
    period = ctx.request.health.metric_period_seconds
    return approved(
        progress, by=answer.requested_by, reason=answer.reason, at=answer.requested_at, period_seconds=period
    )


def approval_event(request: ApprovalRequest) -> dict[str, Any]:
    """The `… Approval Requested` event's detail: who is asked what, and how to answer."""
    target = request.execution_arn or request.deployment_id
    waiting = (
        f"a healthy canary at {request.canary.weight}% waits for approval before promotion"
        if request.canary is not None
        else "waits for approval before it starts"
    )
    return {
        **request.model_dump(mode="json", include={"function_name", "alias", "deployment_id", "release_id", "wave"}),
        "execution_arn": request.execution_arn,
        "asked_at": request.asked_at.isoformat(),
        "timeout_seconds": request.timeout_seconds,
        "on_timeout": request.on_timeout,
        "message": (
            f"{request.what}: {waiting}: `rollgate approve {target}` or `rollgate reject {target} --reason …` "
            f"(no answer within {request.timeout_seconds} s: {request.on_timeout})"
        ),
    }


# --------------------------------------------------------------------------- approval between waves
def wave_approval_request(ctx: ReleaseContext, *, task_token: str, now: datetime) -> ApprovalRequest:
    """AwaitWaveApproval's ledger item for a release (rollgate.domain.release.waves.ReleaseContext) whose
    next wave waits for a go-ahead."""
    policy = ctx.plan.approval if ctx.plan is not None else None
    if policy is None:
        raise InvalidRequest("approval: AwaitWaveApproval runs for a manifest with approval.between_waves")
    return ApprovalRequest(
        release_id=ctx.release_id,
        wave=ctx.wave_index,
        execution_arn=ctx.execution_arn,
        task_token=task_token,
        asked_at=now,
        timeout_seconds=policy.timeout_seconds,
        on_timeout=policy.on_timeout,
    )


def wave_approved(wave: int, *, by: str, reason: str, at: datetime) -> dict[str, Any]:
    """The answer that lets wave `wave` start (AwaitWaveApproval's result, kept in the release record)."""
    return {"wave": wave, "approved_by": by, "reason": reason, "at": at.isoformat()}


def wave_rejection(wave: int, by: str, reason: str, at: datetime) -> str:
    return f"wave {wave + 1} not approved: rejected by {by} at {at:%H:%M:%S}: {reason}"


def wave_gate_ended(ctx: ReleaseContext, *, rejected: StepError | None, now: datetime) -> ReleaseContext:
    """The release after its gate before a wave ended without an approval: rejected (the gate's
    error, ApprovalRejected with who and why), or nobody answered in time — then on_timeout decides
    (approve: the wave starts, approved by default). A wave not approved does not start, nor does
    any after it, and an atomic release puts back what it promoted (release.wave_not_approved)."""
    if rejected is not None:
        return wave_not_approved(ctx, rejected.message())
    policy = ctx.plan.approval if ctx.plan is not None else None
    if policy is None:
        raise InvalidRequest("approval: WaveApprovalTimedOut runs for a manifest with an approval policy")
    why = f"no answer within {policy.timeout_seconds} s; on_timeout is {policy.on_timeout}"
    if policy.on_timeout == "approve":
        answer = wave_approved(ctx.wave_index, by="nobody (by default)", reason=why, at=now)
        return ctx.model_copy(update={"next": "wave", "wave_approval": answer})
    return wave_not_approved(ctx, f"wave {ctx.wave_index + 1} not approved: {why}")


# --------------------------------------------------------------------------- answering an approval gate
class TaskTokens(Protocol):
    """Step Functions' task-token answers (rollgate.aws.task_tokens). Raises ControlRefused when the
    token was already answered, timed out, or its execution is not running any more."""

    def succeed(self, task_token: str, output: str) -> None: ...
    def fail(self, task_token: str, error: str, cause: str) -> None: ...


class ControlDesk(Ledger, ControlLog, Protocol):
    """The ledger an answer needs: the lease and control log, and the gates' task tokens."""

    def approval_request(self, execution_arn: str) -> ApprovalRequest | None: ...


class ApprovalAnswer(Strict):
    """What `rollgate approve|reject EXECUTION` and the console's Control input send."""

    control: Literal["approve", "reject"] = Field(description="approve | reject")
    execution_arn: Text = Field(description="the execution whose approval gate waits")
    reason: LongText = Field(default="no reason given", description="why (recorded; a rejection's reason)")
    requested_by: Text = Field(default="operator", description="who answers (recorded)")


class ApprovalAnswered(Lenient):
    control: str
    execution_arn: str
    requested_by: str
    reason: str
    requested_at: datetime
    what: str = Field(description="the deployment (function:alias) or the release's wave that waited")
    wave: int | None = None
    effect: str


def answer_approval(raw: Any, *, ledger: ControlDesk, tokens: TaskTokens, clock: Clock) -> ApprovalAnswered:
    """Answer the task token an approval gate left in the ledger. A deployment's answer is written
    into its control log first (refused unless it still holds the lease); a release's gate before a
    wave is answered with who and why in the answer, which the release record keeps."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(approval answer): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    answer = parse_model(ApprovalAnswer, raw)
    waiting = ledger.approval_request(answer.execution_arn)
    if waiting is None:
        raise ControlRefused(f"no approval gate of {answer.execution_arn} is waiting (or ever was)")
    approve = answer.control == "approve"
    if waiting.canary is None:  # a release, before a wave
        wave, at, by, why = waiting.wave or 0, clock.now(), answer.requested_by, answer.reason
        if approve:
            tokens.succeed(waiting.task_token, json.dumps(wave_approved(wave, by=by, reason=why, at=at)))
        else:
            tokens.fail(waiting.task_token, REJECTED, wave_rejection(wave, by, why, at))
        effect = "starts" if approve else "does not start; the release stops there"
    else:
        record = request_control(
            {
                "function_name": waiting.function_name,
                "alias": waiting.alias,
                "control": answer.control,
                "reason": answer.reason,
                "requested_by": answer.requested_by,
                "deployment_id": waiting.deployment_id,
            },
            ledger=ledger,
            clock=clock,
        )
        by, why, at, wave = record.requested_by, record.reason, record.requested_at, None
        canary = waiting.canary
        if approve:
            answered = approved(canary, by=by, reason=why, at=at, period_seconds=canary.wait_seconds)
            tokens.succeed(waiting.task_token, answered.model_dump_json())
        else:
            tokens.fail(waiting.task_token, REJECTED, rejection(by, why, at))
        effect = "goes on: judged once more, then promoted" if approve else "rolls back"
    return ApprovalAnswered(
        control=answer.control,
        execution_arn=answer.execution_arn,
        requested_by=by,
        reason=why,
        requested_at=at,
        what=waiting.what,
        wave=wave,
        effect=effect,
    )


def take_control(
    raw: Any, *, ledger: ControlDesk, tokens: TaskTokens, clock: Clock
) -> ControlRecord | ApprovalAnswered:
    """The console's one Control input: a control of a running deployment (ControlRequest) or an
    answer to an approval gate (ApprovalAnswer, recognised by its execution_arn)."""
    if isinstance(raw, dict) and "execution_arn" in raw:
        return answer_approval(raw, ledger=ledger, tokens=tokens, clock=clock)
    return request_control(raw, ledger=ledger, clock=clock)
