"""The Release workflow: a manifest's functions deployed wave by wave as child DeployFunction
executions, and, when the release is atomic and one function is not promoted, every function it
already promoted put back on its previous version.

The document that flows through the state machine is `ReleaseContext`. Each task re-reads what it
acts on: the manifest from S3, each child's outcome from what its execution answered (the ledger only
where the answer does not say), the alias before reverting it. So a console rerun or a redrive is safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from pydantic import Field, ValidationError, model_validator

from rollgate.contract import (
    DEPLOY_ERRORS,
    DEPLOYMENT_IN_PROGRESS,
    INVALID_REQUEST,
    RELEASE_ERRORS,
    RELEASE_STATUSES,
    Status,
)
from rollgate.domain.deploy.start import deployment_id_for
from rollgate.domain.release.bake import BakeProgress
from rollgate.domain.release.manifest import ReleaseManifest, deployment_request, parse_manifest
from rollgate.domain.release.queue import QueuePolicy, QueueStatus, queue_outcome
from rollgate.domain.release.windows import WindowPolicy, WindowStatus, resolve_windows, window_status
from rollgate.domain.shared.errors import InvalidRequest, ManifestNotFound
from rollgate.domain.shared.managed import ManagedFunction, manifest_with_managed_defaults
from rollgate.domain.shared.models import (
    ApprovalPolicy,
    DeploymentResult,
    HealthPolicy,
    Lenient,
    Provenance,
    StepError,
    Strict,
    parse_model,
)
from rollgate.domain.shared.names import child_execution_name
from rollgate.domain.shared.notify import Announcement
from rollgate.domain.shared.ports import Clock, Ledger, ManifestStore
from rollgate.domain.shared.records import DeploymentRecord, FunctionOutcome, ReleaseRecord, RevertOutcome
from rollgate.domain.shared.validation import BucketName, LongText, ObjectKey, StackHome, Text, check_document


# --------------------------------------------------------------------------- the request
class ManifestLocation(Strict):
    bucket: BucketName
    key: ObjectKey
    version_id: LongText | None = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}" + (f"?versionId={self.version_id}" if self.version_id else "")


class ManifestWait(Strict):
    """The bounded poll for a manifest CI uploads after the push: every interval, at most max_polls."""

    interval_seconds: int = Field(default=15, ge=1, le=3600)
    max_polls: int = Field(default=40, ge=1, le=1000)


class ReleaseSource(Strict):
    """What started the release (goes into every deployment's provenance)."""

    trigger: Text = "manual"
    repository: Text | None = None
    branch: Text | None = None
    commit: Text | None = None
    requested_by: Text | None = None
    delivery_id: Text | None = None


class ReleaseRequest(Strict):
    """The Release workflow input: the manifest inline, or where CI puts it."""

    manifest: dict[str, Any] | None = None
    manifest_location: ManifestLocation | None = None
    source: ReleaseSource = Field(default_factory=ReleaseSource)
    manifest_wait: ManifestWait = Field(default_factory=ManifestWait)

    @model_validator(mode="after")
    def _one_manifest(self) -> ReleaseRequest:
        if (self.manifest is None) == (self.manifest_location is None):
            raise ValueError("give exactly one of manifest (inline) or manifest_location (bucket, key)")
        return self


# --------------------------------------------------------------------------- the run
class ManifestPoll(Lenient):
    status: Literal["waiting", "ready"]
    location: str
    polls: int = 0
    max_polls: int = 1
    poll_interval_seconds: int = 15


class PlannedDeployment(Lenient):
    """One child DeployFunction execution: its name is fixed by the plan, so it is started once."""

    wave: int
    function_name: str
    alias: str
    execution_name: str
    request: dict[str, Any]


class ReleasePlan(Lenient):
    application: str
    atomic: bool
    max_concurrency: int
    waves: list[list[PlannedDeployment]]
    approval: ApprovalPolicy | None = None
    windows: WindowPolicy | None = Field(default=None, description="when waves may start (resolved)")
    queue: QueuePolicy = Field(default_factory=QueuePolicy, description="a newer push of its branch")
    bake_seconds: list[int] = Field(default_factory=list, description="per wave: its bake before the next wave")


class RevertTarget(Lenient):
    """A function this release promoted, to put back on the version live before it."""

    function_name: str
    alias: str
    promoted_version: str
    restore_version: str
    smoke_tests: list[dict[str, Any]] = Field(default_factory=list)


class ReleaseContext(Lenient):
    request: ReleaseRequest
    release_id: str
    execution_name: str
    execution_arn: str | None = None
    started_at: datetime
    manifest_poll: ManifestPoll | None = None
    plan: ReleasePlan | None = None
    wave_index: int = 0
    wave: list[PlannedDeployment] = Field(default_factory=list)
    wave_results: list[dict[str, Any]] | None = None
    outcomes: list[FunctionOutcome] = Field(default_factory=list)
    next: Literal["wave", "revert", "done", "approve", "bake"] | None = None
    #: the bake after the wave just promoted (StartBake, JudgeBake), then every bake that ended
    bake_after: Literal["wave", "approve"] | None = None
    bake: BakeProgress | None = None
    bakes: list[BakeProgress] = Field(default_factory=list)
    #: the answer of the approval gate before the current wave (AwaitWaveApproval), then every answer
    #: the deployment window's answer before the current wave (CheckWindow)
    window: WindowStatus | None = None
    wave_approval: dict[str, Any] | None = None
    wave_approvals: list[dict[str, Any]] = Field(default_factory=list)
    revert: list[RevertTarget] = Field(default_factory=list)
    revert_reason: str | None = None
    reverts: list[dict[str, Any]] | None = None
    #: the release's place in its application+branch queue (CheckQueue; None: not queued)
    queue: QueueStatus | None = None
    error: StepError | None = None


# --------------------------------------------------------------------------- StartRelease / LoadManifest
def start_release(raw: Any, execution: dict[str, Any] | None, *, clock: Clock) -> ReleaseContext:
    """Validate the input envelope (a bad one fails naming the field, nothing deployed). The
    manifest itself is read and validated by LoadManifest, whose failures are recorded."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(release request): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    request = parse_model(ReleaseRequest, raw)
    execution = execution or {}
    name = str(execution.get("Name") or "manual")
    source = request.source
    inline_id = (request.manifest or {}).get("release_id")
    release_id = str(
        inline_id
        or (f"{source.repository}@{source.commit[:12]}" if source.repository and source.commit else None)
        or name
    )
    return ReleaseContext(
        request=request,
        release_id=release_id,
        execution_name=name,
        execution_arn=execution.get("Id"),
        started_at=clock.now(),
    )


def load_manifest(
    ctx: ReleaseContext,
    *,
    store: ManifestStore,
    health_policies: Mapping[str, HealthPolicy] | None = None,
    deployment_windows: Mapping[str, WindowPolicy] | None = None,
    managed_functions: Mapping[str, ManagedFunction] | None = None,
) -> ReleaseContext:
    """Plan the waves from the inline manifest, or from one poll of its S3 location
    (ManifestNotFound once the budget is spent). InvalidRequest names the bad manifest field; a
    named health policy must be one of `health_policies` (the stack's), and is resolved here."""
    if ctx.plan is not None:
        return ctx
    home = StackHome.from_arn(ctx.execution_arn)
    if ctx.request.manifest is not None:
        inline = manifest_with_managed_defaults(ctx.request.manifest, managed_functions)
        manifest = parse_manifest(inline, home=home, health_policies=health_policies)
        return _planned(ctx, manifest, "inline", health_policies, deployment_windows)
    location = ctx.request.manifest_location
    assert location is not None  # ReleaseRequest holds exactly one of the two
    wait = ctx.request.manifest_wait
    polls = (ctx.manifest_poll.polls if ctx.manifest_poll else 0) + 1
    data = store.read_json(location.bucket, location.key, location.version_id)
    if data is None:
        if polls >= wait.max_polls:
            raise ManifestNotFound(
                f"manifest_location: {location.describe()} did not appear within {polls} polls "
                f"{wait.interval_seconds} s apart; upload the manifest, then start the release again"
            )
        poll = ManifestPoll(
            status="waiting",
            location=location.describe(),
            polls=polls,
            max_polls=wait.max_polls,
            poll_interval_seconds=wait.interval_seconds,
        )
        return ctx.model_copy(update={"manifest_poll": poll})
    data = manifest_with_managed_defaults(data, managed_functions)  # the functions' own defaults (Rollgate.manage)
    manifest = parse_manifest(data, where=f"manifest {location.describe()}", home=home, health_policies=health_policies)
    ctx = ctx.model_copy(
        update={"manifest_poll": ManifestPoll(status="ready", location=location.describe(), polls=polls)}
    )
    return _planned(ctx, manifest, location.describe(), health_policies, deployment_windows)


def _planned(
    ctx: ReleaseContext,
    manifest: ReleaseManifest,
    location: str,
    health_policies: Mapping[str, HealthPolicy] | None,
    deployment_windows: Mapping[str, WindowPolicy] | None = None,
) -> ReleaseContext:
    release_id = manifest.release_id or ctx.release_id
    source = ctx.request.source
    provenance = Provenance(
        release_id=release_id,
        trigger=f"release:{source.trigger}",
        requested_by=source.requested_by,
        commit=source.commit,
    )
    waves = [
        [
            PlannedDeployment(
                wave=w,
                function_name=request.function_name,
                alias=request.alias,
                execution_name=child_execution_name(ctx.execution_name, w, request.function_name, request.alias),
                request=request.model_dump(mode="json", exclude_none=True),
            )
            for request in (
                deployment_request(manifest, w, f, provenance, health_policies=health_policies)
                for f in range(len(wave.functions))
            )
        ]
        for w, wave in enumerate(manifest.waves)
    ]
    plan = ReleasePlan(
        application=manifest.application,
        atomic=manifest.atomic,
        max_concurrency=manifest.max_concurrency,
        waves=waves,
        approval=manifest.approval,
        windows=resolve_windows(manifest.windows, deployment_windows, field="manifest.windows"),
        queue=manifest.queue,
        bake_seconds=[
            wave.bake_seconds if wave.bake_seconds is not None else manifest.defaults.bake_seconds
            for wave in manifest.waves
        ],
    )
    poll = ctx.manifest_poll or ManifestPoll(status="ready", location=location)
    return ctx.model_copy(
        update={
            "release_id": release_id,
            "plan": plan,
            "manifest_poll": poll.model_copy(update={"status": "ready"}),
            "wave_index": 0,
            "wave": waves[0],
        }
    )


# --------------------------------------------------------------------------- AdvanceWave
#: Validate refuses these before anything is locked or changed: the child was rejected.
_REJECTED_BEFORE_START = frozenset({INVALID_REQUEST, DEPLOYMENT_IN_PROGRESS})
#: A child DeployFunction's error name -> the outcome it ends with.
_CHILD_OUTCOMES = {name: status for status, name in DEPLOY_ERRORS.items()}
#: How far back the ledger is searched for a child whose execution answer says too little.
_LEDGER_LOOKBACK = 25


class ChildAnswer(NamedTuple):
    """What a child DeployFunction execution answered: its outcome, why, and its deployment id
    when the answer tells it."""

    status: Status
    reason: str
    deployment_id: str | None = None
    record: DeploymentResult | None = None


def _json_object(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _started_at(value: Any) -> datetime | None:
    """DescribeExecution's StartDate as Step Functions writes it into a cause: epoch milliseconds
    (or an ISO timestamp)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def child_answer(result: Mapping[str, Any]) -> ChildAnswer | None:
    """The child's outcome from the Map iteration's result: its output when the state machine passes
    it (`child.output`: its DeploymentResult), or the error it failed with (`child_error`, the
    Map's Catch: a Cause holding DescribeExecution's answer, whose Error is the outcome's error name
    and Cause its reason). None when the result says neither (a child that succeeded, its output
    not passed, or a result from before the child ran)."""
    child = result.get("child")
    if isinstance(child, Mapping) and (output := _json_object(child.get("output"))):
        try:
            record = DeploymentResult.model_validate(output)
        except ValidationError:
            return None
        return ChildAnswer(record.status, record.reason, record.deployment_id, record)
    error = result.get("child_error")
    if not isinstance(error, Mapping):
        return None
    cause = StepError.model_validate(error).Cause or ""
    described = _json_object(cause)
    name = str(described.get("Error") or described.get("error") or error.get("Error") or "DeploymentFailed")
    why = str(described.get("Cause") or described.get("cause") or cause or name)
    started = _started_at(described.get("StartDate"))
    execution_name = described.get("Name")
    deployment_id = deployment_id_for(started, str(execution_name)) if started and execution_name else None
    if name in _REJECTED_BEFORE_START:
        return ChildAnswer(Status.REJECTED, f"{name}: {why}")
    if name in _CHILD_OUTCOMES:
        return ChildAnswer(_CHILD_OUTCOMES[name], why, deployment_id)
    return ChildAnswer(Status.FAILED, f"{name}: {why}", deployment_id)


def _ledger_record(planned: PlannedDeployment, ledger: Ledger, deployment_id: str | None) -> DeploymentRecord | None:
    """The child's deployment record: by its id when known, else the newest of the alias whose id
    ends in the child's execution name (a deployment id is `<start time>-<execution name>`)."""
    if deployment_id is not None:
        stored = ledger.get_deployment(planned.function_name, planned.alias, deployment_id)
        return stored if isinstance(stored, DeploymentRecord) else None
    suffix = f"-{planned.execution_name}"
    for record in ledger.list_deployments(planned.function_name, planned.alias, limit=_LEDGER_LOOKBACK):
        if isinstance(record, DeploymentRecord) and record.deployment_id.endswith(suffix):
            return record
    return None


def outcome_of(planned: PlannedDeployment, result: Mapping[str, Any] | None, *, ledger: Ledger) -> FunctionOutcome:
    """What the child execution answered; the ledger's record of it only for what the answer does
    not say (its versions, or everything when the answer is not there)."""
    base = {
        "function_name": planned.function_name,
        "alias": planned.alias,
        "wave": planned.wave,
        "execution_name": planned.execution_name,
    }
    answer = child_answer(result or {})
    record: DeploymentResult | None = answer.record if answer else None
    if record is None and (answer is None or answer.deployment_id is not None):
        record = _ledger_record(planned, ledger, answer.deployment_id if answer else None)
    if answer is not None:
        status, reason, deployment_id = answer.status, answer.reason, answer.deployment_id
    elif record is not None:
        status, reason, deployment_id = record.status, record.reason, record.deployment_id
    else:
        return FunctionOutcome(
            **base,
            status=Status.FAILED,
            reason=f"no ledger record of execution {planned.execution_name}; the child did not conclude",
        )
    return FunctionOutcome(
        **base,
        status=status,
        reason=reason,
        from_version=record.from_version if record else None,
        to_version=record.to_version if record else None,
        deployment_id=record.deployment_id if record else deployment_id,
    )


def advance(ctx: ReleaseContext, *, ledger: Ledger) -> ReleaseContext:
    """Record the wave's outcomes and decide: next wave, revert what was promoted, or done."""
    if ctx.plan is None:
        raise InvalidRequest("plan: AdvanceWave runs after the manifest is loaded; the input has no plan")
    results = ctx.wave_results or []
    wave_outcomes = [
        outcome_of(planned, results[i] if i < len(results) else None, ledger=ledger)
        for i, planned in enumerate(ctx.wave)
    ]
    done_before = [o for o in ctx.outcomes if o.wave != ctx.wave_index]  # a rerun of this step replaces its wave
    outcomes = [*done_before, *wave_outcomes]
    failed = [o for o in wave_outcomes if not o.promoted]
    update: dict[str, Any] = {"outcomes": outcomes, "wave_results": None}
    if ctx.wave_approval is not None:  # the answer that let this wave start, kept for the record
        update.update(wave_approvals=[*ctx.wave_approvals, ctx.wave_approval], wave_approval=None)
    if not failed:
        if ctx.wave_index + 1 < len(ctx.plan.waves):
            index = ctx.wave_index + 1
            approval = ctx.plan.approval
            answer = "approve" if approval is not None and approval.between_waves else "wave"
            if ctx.wave_index < len(ctx.plan.bake_seconds) and ctx.plan.bake_seconds[ctx.wave_index] > 0:
                # the wave just promoted bakes first (StartBake); its end answers `answer`
                update.update(next="bake", bake_after=answer, bake=None)
                return ctx.model_copy(update={**update, "wave_index": index, "wave": ctx.plan.waves[index]})
            return ctx.model_copy(update={**update, "next": answer, "wave_index": index, "wave": ctx.plan.waves[index]})
        return ctx.model_copy(update={**update, "next": "done"})
    reason = "; ".join(f"{o.function_name}:{o.alias} {o.status.value}: {o.reason}" for o in failed)
    if not ctx.plan.atomic:
        return ctx.model_copy(update={**update, "next": "done", "revert_reason": reason})
    revert = [_revert_target(o, ctx.plan) for o in outcomes if o.changed_alias]
    return ctx.model_copy(
        update={**update, "next": "revert" if revert else "done", "revert": revert, "revert_reason": reason}
    )


def check_window(ctx: ReleaseContext, *, now: datetime) -> ReleaseContext:
    """Before a wave: may it start now? Closed, the execution waits until `window.opens_at` and asks
    again (a freeze may have been added meanwhile); a window that does not open within the policy's
    max_wait_seconds ends the release before this wave, as a rejected approval does."""
    if ctx.plan is None:
        raise InvalidRequest("plan: CheckWindow runs after the manifest is loaded; the input has no plan")
    earlier = ctx.window
    waited_since = earlier.waited_since if earlier is not None and earlier.wave == ctx.wave_index else None
    status = window_status(ctx.plan.windows, now, waited_since=waited_since).model_copy(update={"wave": ctx.wave_index})
    ctx = ctx.model_copy(update={"window": status})
    if status.gave_up:
        return wave_not_approved(ctx, f"wave {ctx.wave_index + 1} not started: {status.reason}")
    return ctx


def wave_not_approved(ctx: ReleaseContext, reason: str) -> ReleaseContext:
    """The wave waiting for approval was rejected (or nobody answered and on_timeout is reject): it
    and every later wave do not run, and an atomic release puts back what it promoted."""
    if ctx.plan is None:
        raise InvalidRequest("plan: an approval between waves runs after the manifest is loaded")
    later = [FunctionOutcome.not_started(p, reason) for wave in ctx.plan.waves[ctx.wave_index :] for p in wave]
    revert = [_revert_target(o, ctx.plan) for o in ctx.outcomes if o.changed_alias] if ctx.plan.atomic else []
    return ctx.model_copy(
        update={
            "outcomes": [*ctx.outcomes, *later],
            "next": "revert" if revert else "done",
            "revert": revert,
            "revert_reason": reason,
        }
    )


def _revert_target(outcome: FunctionOutcome, plan: ReleasePlan) -> RevertTarget:
    planned = next(
        p for p in plan.waves[outcome.wave] if (p.function_name, p.alias) == (outcome.function_name, outcome.alias)
    )
    assert outcome.to_version and outcome.from_version  # changed_alias says so
    return RevertTarget(
        function_name=outcome.function_name,
        alias=outcome.alias,
        promoted_version=outcome.to_version,
        restore_version=outcome.from_version,
        smoke_tests=list(planned.request.get("smoke_tests", [])),
    )


# --------------------------------------------------------------------------- RecordRelease
#: RELEASED: every function promoted; ROLLED_BACK: one was not, every function is back on its
#: previous version; PARTIAL: not atomic, some promoted and some not; REJECTED: the manifest was
#: invalid or never arrived, nothing deployed; FAILED: something could not be put back, or the
#: workflow itself failed.
RELEASE_ANNOUNCEMENT = Announcement(
    noun="Release",
    statuses=RELEASE_STATUSES,
    fields=("release_id", "status", "application", "reason", "execution_arn", "source", "functions", "reverts"),
    metric="Releases",
)
_REJECTING = {INVALID_REQUEST, "ManifestNotFound"}


def revert_outcomes(ctx: ReleaseContext) -> list[RevertOutcome]:
    outcomes = []
    for target, result in zip(ctx.revert, ctx.reverts or [], strict=False):
        report = result.get("report") if isinstance(result, dict) else None
        if isinstance(report, dict):
            outcomes.append(
                RevertOutcome(
                    function_name=target.function_name,
                    alias=target.alias,
                    status=str(report.get("status")),
                    detail=str(report.get("detail", "")),
                )
            )
            continue
        error = StepError.model_validate(result.get("revert_error") or {"Error": "RevertNotRun"})
        outcomes.append(
            RevertOutcome(
                function_name=target.function_name,
                alias=target.alias,
                status="FAILED",
                detail=f"{error.Error}: {error.message()}",
            )
        )
    return outcomes


def _all_functions(ctx: ReleaseContext) -> list[FunctionOutcome]:
    reached = {(o.function_name, o.alias) for o in ctx.outcomes}
    later = [
        FunctionOutcome.not_started(p, "an earlier wave did not complete")
        for wave in (ctx.plan.waves if ctx.plan else [])
        for p in wave
        if (p.function_name, p.alias) not in reached
    ]
    return [*ctx.outcomes, *later]


def decide_release(ctx: ReleaseContext, reverts: list[RevertOutcome]) -> tuple[Status, str]:
    if ctx.plan is None or (ctx.error is not None and not ctx.outcomes):
        error = ctx.error or StepError(Error="ReleaseFailed", Cause="the release ended before its manifest was planned")
        status = Status.REJECTED if error.Error in _REJECTING else Status.FAILED
        return status, f"{error.Error}: {error.message()}"
    if ctx.error is not None:
        return Status.FAILED, f"the release workflow failed: {ctx.error.Error}: {ctx.error.message()}"
    if (ended := queue_outcome(ctx)) is not None:  # superseded by a newer push, or queued too long
        return ended
    failed = [o for o in ctx.outcomes if not o.promoted]
    if not failed:
        if len(ctx.outcomes) < sum(len(w) for w in ctx.plan.waves):
            return Status.FAILED, "the release ended before every wave ran"
        return Status.RELEASED, f"{len(ctx.outcomes)} function(s) promoted"
    why = ctx.revert_reason or "; ".join(f"{o.function_name}:{o.alias} {o.status.value}" for o in failed)
    not_restored = [r for r in reverts if r.status not in ("RESTORED", "ALREADY_RESTORED")]
    if not_restored:
        names = ", ".join(f"{r.function_name}:{r.alias} ({r.status}: {r.detail})" for r in not_restored)
        return Status.FAILED, f"{why}; COULD NOT RESTORE, check by hand: {names}"
    if ctx.plan.atomic or not any(o.changed_alias for o in ctx.outcomes):
        restored = ", ".join(f"{r.function_name}:{r.alias}" for r in reverts)
        return Status.ROLLED_BACK, why + (f"; restored {restored} to their previous versions" if restored else "")
    return Status.PARTIAL, why


def conclude_release(ctx: ReleaseContext, *, clock: Clock) -> ReleaseRecord:
    reverts = revert_outcomes(ctx)
    status, reason = decide_release(ctx, reverts)
    return ReleaseRecord(
        release_id=ctx.release_id,
        execution_name=ctx.execution_name,
        execution_arn=ctx.execution_arn,
        application=ctx.plan.application if ctx.plan else None,
        status=status,
        atomic=ctx.plan.atomic if ctx.plan else None,
        reason=reason,
        source=ctx.request.source.model_dump(mode="json", exclude_none=True),
        started_at=ctx.started_at,
        finished_at=clock.now(),
        functions=_all_functions(ctx),
        reverts=reverts,
        bakes=[b.model_dump(mode="json") for b in ctx.bakes],
        error_name=RELEASE_ERRORS.get(status),
    )
