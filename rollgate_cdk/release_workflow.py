"""ReleaseWorkflow: many functions, one push, in waves, atomic.

Shape (state names are the contract with the task handlers, the local runtime and the CLI)::

    StartRelease -> LoadManifest -> ManifestReady?
    ManifestReady?  ready -> CheckQueue;  else -> WaitForManifest -> LoadManifest   (bounded poll)
    CheckQueue -> QueueTurn?   (one release of an application+branch at a time, before its first wave)
    QueueTurn?      not queued (no branch) or run -> CheckWindow;  wait -> WaitInQueue -> CheckQueue;
                    superseded by a newer push, or queued past max_wait_seconds -> RecordRelease
    CheckWindow -> WindowOpen?  open -> RunWave;  closed -> WaitForWindow -> CheckWindow
    RunWave (Map over $.wave, MaxConcurrencyPath $.plan.max_concurrency)
        DeployFunction: startExecution.sync of the DeployFunction state machine, named by the plan;
        a child that is not promoted is caught (ChildNotPromoted) so its siblings finish
    RunWave -> AdvanceWave -> NextWave?
    NextWave?       wave -> RunWave;  revert -> RevertPromoted;  else -> RecordRelease;
                    bake (the wave's bake_seconds) -> StartBake -> BakeNext?
    BakeNext?       bake -> BakeWait -> JudgeBake -> BakeNext?;  wave -> CheckWindow;
                    approve -> AwaitWaveApproval;  revert -> RevertPromoted;  else -> RecordRelease
                    approve (manifest approval.between_waves) -> AwaitWaveApproval (task token) -> RunWave,
                    States.Timeout -> WaveApprovalTimedOut -> NextWave?, rejected -> WaveNotApproved -> NextWave?
    RevertPromoted (Map over $.revert): RevertFunction, a failure caught (RevertNotDone)
    RevertPromoted -> RecordRelease -> Released?
    Released?       RELEASED -> Released (Succeed);  else -> NotReleased (Fail)

StartRelease fails the execution directly on a bad envelope (nothing is planned yet). From
LoadManifest on, any failure goes to RecordRelease, so a bad or missing manifest is recorded and
announced like any other outcome.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from rollgate.contract import INVALID_REQUEST, QueueNext, ReleaseNext, Status, step
from rollgate_cdk.release_tasks import ReleaseTasks
from rollgate_cdk.settings import Settings
from rollgate_cdk.states import (
    DEFAULT_ATTEMPTS,
    PERSISTENT_ATTEMPTS,
    catch,
    concluded,
    wait_for,
)
from rollgate_cdk.workflow import Workflow

#: Step Functions' own transient failures when starting a child execution.
START_EXECUTION_TRANSIENT = (
    "StepFunctions.ExecutionLimitExceededException",
    "StepFunctions.SdkClientException",
    "StepFunctions.AWSStepFunctionsException",
)


def build_release_definition(scope: Construct, *, steps: ReleaseTasks, deploy: sfn.IStateMachine) -> sfn.IChainable:
    conclusion = concluded(
        scope,
        choice_name="Released?",
        succeeded="Released",
        failed="NotReleased",
        success_condition=sfn.Condition.string_equals(
            f"{step('RecordRelease').result_path}.status", Status.RELEASED.value
        ),
    )
    record = steps.record_state(scope, step("RecordRelease"), conclusion=conclusion)
    start = steps.entry_state(
        scope, step("StartRelease"), refusals={INVALID_REQUEST: "RejectInvalidRelease"}, failed="StartFailed"
    )

    load = catch(steps.task_state(scope, step("LoadManifest")), record)

    # --- one wave: every function a child DeployFunction execution, bounded concurrency --------
    deploy_child = tasks.StepFunctionsStartExecution(
        scope,
        "DeployFunction",
        state_machine=deploy,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        input=sfn.TaskInput.from_json_path_at("$.request"),
        name=sfn.JsonPath.string_at("$.execution_name"),
        associate_with_parent=False,
        result_selector={"execution_arn.$": "$.ExecutionArn", "status.$": "$.Status"},
        result_path="$.child",
    )
    deploy_child.add_retry(
        errors=list(START_EXECUTION_TRANSIENT),
        max_attempts=DEFAULT_ATTEMPTS,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )
    # a child that is not promoted must not stop its siblings: AdvanceWave reads every outcome
    deploy_child.add_catch(sfn.Pass(scope, "ChildNotPromoted"), result_path="$.child_error")
    run_wave = sfn.Map(
        scope,
        "RunWave",
        items_path="$.wave",
        max_concurrency_path="$.plan.max_concurrency",
        result_path="$.wave_results",
    )
    run_wave.item_processor(deploy_child)
    run_wave.add_catch(record, result_path="$.error")

    # --- the deployment windows before each wave: closed, wait until they open and ask again -------
    check_window = catch(steps.task_state(scope, step("CheckWindow")), record)
    window_open = (
        sfn.Choice(scope, "WindowOpen?")
        .when(sfn.Condition.boolean_equals("$.window.open", True), run_wave)
        # the window does not open in time: CheckWindow ended the release before this wave
        .when(
            sfn.Condition.boolean_equals("$.window.gave_up", True),
            window_not_opened := sfn.Pass(scope, "WindowNotOpened"),
        )
        .otherwise(
            sfn.Wait(
                scope,
                "WaitForWindow",
                time=sfn.WaitTime.timestamp_path("$.window.opens_at"),
                comment="outside the release's deployment windows: until the next one opens",
            ).next(check_window)
        )
    )
    check_window.next(window_open)

    advance = catch(steps.task_state(scope, step("AdvanceWave")), record)
    run_wave.next(advance)

    # --- atomic rollback: every function the release promoted, back on its previous version ----
    revert_function = steps.task_state(scope, step("RevertFunction"), max_attempts=PERSISTENT_ATTEMPTS)
    revert_function.add_catch(sfn.Pass(scope, "RevertNotDone"), result_path="$.revert_error")
    revert_promoted = sfn.Map(
        scope,
        "RevertPromoted",
        items_path="$.revert",
        max_concurrency_path="$.plan.max_concurrency",
        item_selector={
            "target.$": "$$.Map.Item.Value",
            "release_id.$": "$.release_id",
            "execution_name.$": "$.execution_name",
            "execution_arn.$": "$.execution_arn",
            "reason.$": "$.revert_reason",
        },
        result_path="$.reverts",
    )
    revert_promoted.item_processor(revert_function)
    revert_promoted.add_catch(record, result_path="$.error")
    revert_promoted.next(record)

    # --- a person's go-ahead before each wave after the first (manifest approval.between_waves) ----
    # A task token, as DeployFunction's AwaitApproval: the approval's answer goes to $.wave_approval
    # and the wave runs; States.Timeout takes approval.on_timeout; a rejection stops the release there.
    await_wave_approval, wave_timed_out = steps.approval_states(
        scope,
        step("AwaitWaveApproval"),
        step("WaveApprovalTimedOut"),
        payload_key="release",
        timeout_path="$.plan.approval.timeout_seconds",
        on_error=record,
    )
    wave_not_approved = catch(
        steps.task_state(
            scope,
            step("WaveNotApproved"),
            payload=sfn.TaskInput.from_object(
                {"rejected": sfn.JsonPath.object_at("$.approval_error"), "release": sfn.JsonPath.entire_payload}
            ),
        ),
        record,
    )
    await_wave_approval.add_catch(wave_not_approved, result_path="$.approval_error")
    await_wave_approval.next(check_window)

    # --- the bake after a promoted wave: its functions judged again, on the clock, before the next ---
    start_bake = catch(steps.task_state(scope, step("StartBake")), record)
    judge_bake = catch(steps.task_state(scope, step("JudgeBake")), record)
    bake_next = (
        sfn.Choice(scope, "BakeNext?")
        .when(
            sfn.Condition.string_equals("$.bake.next", "bake"),
            wait_for(scope, "BakeWait", seconds_path="$.bake.wait_seconds").next(judge_bake),
        )
        .when(sfn.Condition.string_equals("$.bake.next", ReleaseNext.WAVE.value), check_window)
        .when(sfn.Condition.string_equals("$.bake.next", ReleaseNext.APPROVE.value), await_wave_approval)
        .when(sfn.Condition.string_equals("$.next", ReleaseNext.REVERT.value), revert_promoted)
        .otherwise(record)
    )
    start_bake.next(bake_next)
    judge_bake.next(bake_next)

    next_wave = (
        sfn.Choice(scope, "NextWave?")
        .when(sfn.Condition.string_equals("$.next", ReleaseNext.BAKE.value), start_bake)
        .when(sfn.Condition.string_equals("$.next", ReleaseNext.WAVE.value), check_window)
        .when(sfn.Condition.string_equals("$.next", ReleaseNext.APPROVE.value), await_wave_approval)
        .when(sfn.Condition.string_equals("$.next", ReleaseNext.REVERT.value), revert_promoted)
        .otherwise(record)
    )
    advance.next(next_wave)
    window_not_opened.next(next_wave)
    wave_timed_out.next(next_wave)
    wave_not_approved.next(next_wave)

    # --- the branch's queue before the first wave: not its turn, wait and ask again (bounded) --------
    check_queue = catch(steps.task_state(scope, step("CheckQueue")), record)
    queue_turn = (
        sfn.Choice(scope, "QueueTurn?")
        .when(sfn.Condition.is_null("$.queue"), check_window)  # names no branch: not queued
        .when(sfn.Condition.string_equals("$.queue.next", QueueNext.RUN.value), check_window)
        .when(
            sfn.Condition.string_equals("$.queue.next", QueueNext.WAIT.value),
            wait_for(scope, "WaitInQueue", seconds_path="$.queue.poll_interval_seconds").next(check_queue),
        )
        # superseded by a newer push, or queued too long: CheckQueue ended the release before its first wave
        .otherwise(record)
    )
    check_queue.next(queue_turn)

    manifest_ready = (
        sfn.Choice(scope, "ManifestReady?")
        .when(sfn.Condition.string_equals("$.manifest_poll.status", "ready"), check_queue)
        .otherwise(wait_for(scope, "WaitForManifest", seconds_path="$.manifest_poll.poll_interval_seconds").next(load))
    )
    load.next(manifest_ready)
    return start.next(load)


class ReleaseWorkflow(Workflow):
    """The Release state machine (STANDARD), logging ALL with execution data, traced."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        steps: ReleaseTasks,
        deploy: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self._create(
            settings=settings,
            definition=build_release_definition(self, steps=steps, deploy=deploy),
            comment="Rollgate Release: a manifest's functions in waves, each through DeployFunction; atomic.",
            invokes="Release task functions",
        )
        NagSuppressions.add_resource_suppressions(
            self.state_machine.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=[
                        RegexAppliesTo(
                            regex=r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*\*$/"
                        )
                    ],
                    reason=(
                        "Added by CDK for startExecution.sync: DescribeExecution/StopExecution on the "
                        "executions of the DeployFunction state machine only (their names are not known "
                        "at synth time)."
                    ),
                )
            ],
            apply_to_children=True,
        )
