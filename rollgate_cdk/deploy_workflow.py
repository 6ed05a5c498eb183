"""DeployWorkflow: the DeployFunction state machine (one function, one alias, through the gates).

Shape (state names are the contract with the task handlers, the local runtime and the CLI)::

    Validate -> Preflight -> UpdateFunction -> UpdateSettled?
    UpdateSettled?  InProgress -> WaitForUpdate -> CheckUpdate -> UpdateSettled?;  else -> PublishVersion
    PublishVersion -> VersionActive?
    VersionActive?  Active -> SmokeTest;  else -> WaitForVersion -> CheckVersion -> VersionActive?
    SmokeTest -> PreTrafficHook -> ProvisionConcurrency -> ConcurrencyReady?
    ConcurrencyReady?  InProgress -> WaitForConcurrency -> CheckConcurrency -> ConcurrencyReady?;
                    else -> ShiftTraffic -> CanaryNext?
    CanaryNext?     bake -> Bake -> JudgeCanary -> CanaryNext?;  shift -> ShiftTraffic;
                    promote -> Promote -> WatchNext?;  rollback (and anything else) -> Rollback
    WatchNext?      watch -> WatchWait -> JudgeWatch -> WatchNext?;  rollback -> Rollback;
                    control -> ShiftControl -> WatchNext?;  complete -> CompleteWatch -> WatchNext?;
                    done -> PostTrafficHook;  anything else -> Rollback
    PostTrafficHook -> ReleaseConcurrency -> Prune -> RedriveAsked?
    RedriveAsked?   request.redrive.after_fix -> StartRedrive -> RedriveNext?;  else -> Record
    RedriveNext?    Running -> WaitForRedrive -> CheckRedrive -> RedriveNext?;  else -> Record
    Rollback -> Record -> ReleaseLease -> Concluded?
    Concluded?      PROMOTED -> Promoted (Succeed);  else -> NotPromoted (Fail)
    Rollback, Record, ReleaseLease failing past their retries -> Reconcile -> Concluded?
    Reconcile failing past its retries -> ReconcileFailed (Fail)

Before traffic moves (Preflight … PreTrafficHook) any failure goes straight to Record (which
rejects; ReleaseLease then gives the lease back); once the new version holds an allocation or traffic
(ProvisionConcurrency … PostTrafficHook) any failure goes to Rollback first. ReleaseConcurrency and
Prune run after a promotion: their failure is recorded ($.cleanup_error), never rolled back; so
does the DLQ redrive (StartRedrive, CheckRedrive), whose stop is a finding, not a rollback.
Promote, ShiftControl and CompleteWatch are gate 7's three traffic moves (promote with a holdback,
a control share back on a breach of an unpaired watch, 100% when the watch is over), all made by
the one Promote task, which reads the watch record to tell them apart.
Validate fails the execution directly: no lease is held yet.
Reconcile is the Reconciler's function (``rollgate_cdk.reconcile``), run by the execution itself: it puts
alias, record, event and lease right as the Reconciler's rule would once the execution ended, and
answers as Record does, so the execution ends on the recorded outcome. When it cannot act either,
the execution fails ReconcileFailed and the rule tries again on its end.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from rollgate.contract import DEPLOYMENT_IN_PROGRESS, INVALID_REQUEST, CanaryNext, Status, WatchNext, step
from rollgate_cdk.deploy_tasks import DeployTasks
from rollgate_cdk.settings import Settings
from rollgate_cdk.states import (
    PERSISTENT_ATTEMPTS,
    catch,
    concluded,
    lambda_step,
    wait_for,
)
from rollgate_cdk.workflow import Workflow


def build_deploy_definition(scope: Construct, *, steps: DeployTasks, reconcile: lambda_.IFunction) -> sfn.IChainable:
    """The DeployFunction definition, states created under ``scope``; `reconcile` is the
    Reconciler's function."""

    # --- conclusion: Record always runs, then the execution's status says what happened --------
    conclusion = concluded(
        scope,
        choice_name="Concluded?",
        succeeded="Promoted",
        failed="NotPromoted",
        success_condition=sfn.Condition.string_equals(f"{step('Record').result_path}.status", Status.PROMOTED.value),
    )
    # Rollback, Record or ReleaseLease failed past its retries: put things right from here
    reconciled = catch(
        lambda_step(
            scope,
            "Reconcile",
            function=reconcile,
            result_path=step("Reconcile").result_path,
            max_attempts=PERSISTENT_ATTEMPTS,
        ),
        sfn.Fail(scope, "ReconcileFailed", error="ReconcileFailed", cause_path="$.reconcile_error.Cause"),
        result_path="$.reconcile_error",
    )
    reconciled.next(conclusion)
    # the lease given back in its own step, so a failed release is retried without Record
    release_lease = catch(
        steps.task_state(scope, step("ReleaseLease"), max_attempts=PERSISTENT_ATTEMPTS),
        reconciled,
        result_path="$.record_error",
    )
    release_lease.next(conclusion)
    record = catch(
        steps.task_state(scope, step("Record"), max_attempts=PERSISTENT_ATTEMPTS),
        reconciled,
        result_path="$.record_error",
    )
    record.next(release_lease)

    rollback = catch(
        steps.task_state(scope, step("Rollback"), max_attempts=PERSISTENT_ATTEMPTS),
        reconciled,
        result_path="$.rollback_error",
    )
    rollback.next(record)

    def before_traffic(state_name: str) -> tasks.LambdaInvoke:
        """A gate before any traffic moved: on failure, record the rejection."""
        return catch(steps.task_state(scope, step(state_name)), record)

    def with_traffic(state_name: str) -> tasks.LambdaInvoke:
        """A gate after traffic moved: on failure, put the alias back first."""
        return catch(steps.task_state(scope, step(state_name)), rollback)

    # --- 1. validate and lock -------------------------------------------------------------------
    validate = steps.entry_state(
        scope,
        step("Validate"),
        refusals={INVALID_REQUEST: "RejectInvalidRequest", DEPLOYMENT_IN_PROGRESS: "LockedOut"},
        failed="ValidateFailed",
    )

    # --- 2-5. preflight, update and wait, publish and wait, smoke -------------------------------
    preflight = before_traffic("Preflight")
    update_function = before_traffic("UpdateFunction")
    check_update = before_traffic("CheckUpdate")
    publish_version = before_traffic("PublishVersion")
    check_version = before_traffic("CheckVersion")
    smoke_test = before_traffic("SmokeTest")
    # the team's own check of the new version, before any user traffic: a failure rejects
    pre_traffic_hook = before_traffic("PreTrafficHook")

    # --- provisioned concurrency of the new version, READY before the first shift --------------
    # an allocation exists from here on, so a failure goes through Rollback, which releases it
    provision_concurrency = with_traffic("ProvisionConcurrency")
    check_concurrency = with_traffic("CheckConcurrency")

    # --- 6-7. canary and bake, promote and watch ------------------------------------------------
    shift_traffic = with_traffic("ShiftTraffic")
    judge_canary = with_traffic("JudgeCanary")
    promote = with_traffic("Promote")
    judge_watch = with_traffic("JudgeWatch")
    shift_control = with_traffic("ShiftControl")
    complete_watch = with_traffic("CompleteWatch")

    # --- after the watch: the team's post-traffic check, then housekeeping ----------------------
    post_traffic_hook = with_traffic("PostTrafficHook")

    def housekeeping(state_name: str, *, then: sfn.IChainable) -> tasks.LambdaInvoke:
        """After a promotion: a failure is recorded ($.cleanup_error) and never rolls a healthy
        release back."""
        state = catch(steps.task_state(scope, step(state_name)), then, result_path="$.cleanup_error")
        state.next(then)
        return state

    # --- the DLQ redrive after a verified fix, only when asked (request.redrive.after_fix) -------
    start_redrive = catch(steps.task_state(scope, step("StartRedrive")), record, result_path="$.cleanup_error")
    check_redrive = catch(steps.task_state(scope, step("CheckRedrive")), record, result_path="$.cleanup_error")
    redrive_next = (
        sfn.Choice(scope, "RedriveNext?")
        .when(
            sfn.Condition.string_equals("$.redrive.status", "Running"),
            wait_for(scope, "WaitForRedrive", seconds_path="$.redrive.poll_interval_seconds").next(check_redrive),
        )
        .otherwise(record)
    )
    start_redrive.next(redrive_next)
    check_redrive.next(redrive_next)
    redrive_asked = (
        sfn.Choice(scope, "RedriveAsked?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present("$.request.redrive.after_fix"),
                sfn.Condition.boolean_equals("$.request.redrive.after_fix", True),
            ),
            start_redrive,
        )
        .otherwise(record)
    )
    prune = housekeeping("Prune", then=redrive_asked)
    release_concurrency = housekeeping("ReleaseConcurrency", then=prune)
    post_traffic_hook.next(release_concurrency)

    update_settled = (
        sfn.Choice(scope, "UpdateSettled?")
        .when(
            sfn.Condition.string_equals("$.update.status", "InProgress"),
            wait_for(scope, "WaitForUpdate", seconds_path="$.update.poll_interval_seconds").next(check_update),
        )
        .otherwise(publish_version)
    )
    check_update.next(update_settled)

    version_active = (
        sfn.Choice(scope, "VersionActive?")
        .when(sfn.Condition.string_equals("$.version.state", "Active"), smoke_test)
        .otherwise(
            wait_for(scope, "WaitForVersion", seconds_path="$.version.poll_interval_seconds").next(check_version)
        )
    )
    check_version.next(version_active)
    publish_version.next(version_active)

    # --- a person's go-ahead before the promotion (request.approval.before_promotion) -----------
    # A task token: AwaitApproval's function leaves it in the ledger for `rollgate approve|reject`;
    # the answer is the canary record to go on with (approved: judge once more, then promote) or
    # the error ApprovalRejected (-> Rollback). No answer within approval.timeout_seconds is
    # States.Timeout: ApprovalTimedOut answers approval.on_timeout.
    await_approval, approval_timed_out = steps.approval_states(
        scope,
        step("AwaitApproval"),
        step("ApprovalTimedOut"),
        payload_key="deployment",
        timeout_path="$.request.approval.timeout_seconds",
        on_error=rollback,
    )
    catch(await_approval, rollback)

    canary_next = (
        sfn.Choice(scope, "CanaryNext?")
        .when(
            sfn.Condition.string_equals("$.canary.next", CanaryNext.BAKE.value),
            wait_for(scope, "Bake", seconds_path="$.canary.wait_seconds").next(judge_canary),
        )
        .when(sfn.Condition.string_equals("$.canary.next", CanaryNext.PROMOTE.value), promote)
        .when(sfn.Condition.string_equals("$.canary.next", CanaryNext.APPROVE.value), await_approval)
        .when(sfn.Condition.string_equals("$.canary.next", CanaryNext.SHIFT.value), shift_traffic)
        # The judge answers "rollback" (with its evidence) when the canary is UNHEALTHY.
        .when(sfn.Condition.string_equals("$.canary.next", CanaryNext.ROLLBACK.value), rollback)
        # A Choice cannot Catch: without a default an unexpected answer would fail the execution
        # with States.NoChoiceMatched and leave the alias half-shifted.
        .otherwise(rollback)
    )
    shift_traffic.next(canary_next)
    judge_canary.next(canary_next)
    await_approval.next(canary_next)
    approval_timed_out.next(canary_next)

    watch_next = (
        sfn.Choice(scope, "WatchNext?")
        .when(
            sfn.Condition.string_equals("$.watch.next", WatchNext.WATCH.value),
            wait_for(scope, "WatchWait", seconds_path="$.watch.wait_seconds").next(judge_watch),
        )
        # A breach during the watch: put the baseline back at once.
        .when(sfn.Condition.string_equals("$.watch.next", WatchNext.ROLLBACK.value), rollback)
        # A breach of an unpaired watch: a control share back on the previous version first.
        .when(sfn.Condition.string_equals("$.watch.next", WatchNext.CONTROL.value), shift_control)
        # The watch is over: the holdback moves to the new version.
        .when(sfn.Condition.string_equals("$.watch.next", WatchNext.COMPLETE.value), complete_watch)
        # The watch is done with all traffic on the new version: the post-traffic hook, then Record.
        .when(sfn.Condition.string_equals("$.watch.next", WatchNext.DONE.value), post_traffic_hook)
        # As for the canary: an unexpected answer must not end the execution with a holdback left.
        .otherwise(rollback)
    )
    for state in (promote, judge_watch, shift_control, complete_watch):
        state.next(watch_next)

    concurrency_ready = (
        sfn.Choice(scope, "ConcurrencyReady?")
        .when(
            sfn.Condition.string_equals("$.concurrency.status", "InProgress"),
            wait_for(scope, "WaitForConcurrency", seconds_path="$.concurrency.poll_interval_seconds").next(
                check_concurrency
            ),
        )
        .otherwise(shift_traffic)
    )
    provision_concurrency.next(concurrency_ready)
    check_concurrency.next(concurrency_ready)
    smoke_test.next(pre_traffic_hook)
    pre_traffic_hook.next(provision_concurrency)
    update_function.next(update_settled)
    return validate.next(preflight).next(update_function)


class DeployWorkflow(Workflow):
    """The DeployFunction state machine (STANDARD), logging ALL with execution data, traced."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        steps: DeployTasks,
        reconcile: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self._create(
            settings=settings,
            definition=build_deploy_definition(self, steps=steps, reconcile=reconcile),
            comment="Rollgate DeployFunction: one function, one alias, through the gates.",
            invokes="the DeployFunction task functions and the Reconcile function",
        )
