"""DeployWorkflow: the DeployFunction state machine (one function, one alias, through the gates).

Shape (state names are the contract with the task handlers, the local runtime and the CLI)::

    Validate -> Preflight -> UpdateFunction -> UpdateSettled?
    UpdateSettled?  InProgress -> WaitForUpdate -> CheckUpdate -> UpdateSettled?;  else -> PublishVersion
    PublishVersion -> VersionActive?
    VersionActive?  Active -> SmokeTest;  else -> WaitForVersion -> CheckVersion -> VersionActive?
    SmokeTest -> ShiftTraffic -> CanaryNext?
    CanaryNext?     bake -> Bake -> JudgeCanary -> CanaryNext?;  shift -> ShiftTraffic;
                    promote -> Promote -> WatchNext?;  rollback (and anything else) -> Rollback
    WatchNext?      watch -> WatchWait -> JudgeWatch -> WatchNext?;  rollback -> Rollback;
                    control -> ShiftControl -> WatchNext?;  complete -> CompleteWatch -> WatchNext?;
                    done -> Record;  anything else -> Rollback
    Rollback -> Record -> Concluded?
    Concluded?      PROMOTED -> Promoted (Succeed);  else -> NotPromoted (Fail)

Before traffic moves (Preflight … SmokeTest) any failure goes straight to Record (which rejects
and releases the lease); once traffic has moved (ShiftTraffic … CompleteWatch) any failure goes to
Rollback first. Promote, ShiftControl and CompleteWatch are gate 7's three traffic moves (promote
with a holdback, a control share back on a breach of an unpaired watch, 100% when the watch is
over), all made by the one Promote task, which reads the watch record to tell them apart.
Validate fails the execution directly: no lease is held yet.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.deploy_tasks import DeployTasks
from infra.settings import Settings
from infra.states import PERSISTENT_ATTEMPTS, catch, concluded, fail_on_error, wait_for
from infra.workflow import Workflow

_ERROR = "$.error"


def build_deploy_definition(scope: Construct, *, steps: DeployTasks) -> sfn.IChainable:
    """The DeployFunction definition, states created under ``scope``."""

    # --- conclusion: Record always runs, then the execution's status says what happened --------
    conclusion = concluded(
        scope,
        choice_name="Concluded?",
        succeeded="Promoted",
        failed="NotPromoted",
        success_condition=sfn.Condition.string_equals("$.result.status", "PROMOTED"),
    )
    record_failed = sfn.Fail(scope, "RecordFailed", error="RecordFailed", cause_path="$.record_error.Cause")
    record = catch(
        steps.step(scope, "Record", "record", result_path="$.result", max_attempts=PERSISTENT_ATTEMPTS),
        record_failed,
        result_path="$.record_error",
    )
    record.next(conclusion)

    rollback = catch(
        steps.step(scope, "Rollback", "rollback", result_path="$.rollback", max_attempts=PERSISTENT_ATTEMPTS),
        record,
        result_path="$.rollback_error",
    )
    rollback.next(record)

    def before_traffic(state_name: str, module: str, *, result_path: str) -> tasks.LambdaInvoke:
        """A gate before any traffic moved: on failure, record the rejection."""
        return catch(steps.step(scope, state_name, module, result_path=result_path), record)

    def with_traffic(state_name: str, module: str, *, result_path: str) -> tasks.LambdaInvoke:
        """A gate after traffic moved: on failure, put the alias back first."""
        return catch(steps.step(scope, state_name, module, result_path=result_path), rollback)

    # --- 1. validate and lock -------------------------------------------------------------------
    validate = steps.step(
        scope,
        "Validate",
        "validate",
        result_path="$",
        payload=sfn.TaskInput.from_object(
            {
                "request": sfn.JsonPath.entire_payload,
                "execution": sfn.JsonPath.object_at("$$.Execution"),
            }
        ),
    )
    catch(validate, fail_on_error(scope, "RejectInvalidRequest", error="InvalidRequest"), errors=["InvalidRequest"])
    catch(validate, fail_on_error(scope, "LockedOut", error="DeploymentInProgress"), errors=["DeploymentInProgress"])
    catch(
        validate,
        sfn.Fail(scope, "ValidateFailed", error_path=f"{_ERROR}.Error", cause_path=f"{_ERROR}.Cause"),
    )

    # --- 2-5. preflight, update and wait, publish and wait, smoke -------------------------------
    preflight = before_traffic("Preflight", "preflight", result_path="$.baseline")
    update_function = before_traffic("UpdateFunction", "update_function", result_path="$.update")
    check_update = before_traffic("CheckUpdate", "check_update", result_path="$.update")
    publish_version = before_traffic("PublishVersion", "publish_version", result_path="$.version")
    check_version = before_traffic("CheckVersion", "check_version", result_path="$.version")
    smoke_test = before_traffic("SmokeTest", "smoke_test", result_path="$.smoke")

    # --- 6-7. canary and bake, promote and watch ------------------------------------------------
    shift_traffic = with_traffic("ShiftTraffic", "shift_traffic", result_path="$.canary")
    judge_canary = with_traffic("JudgeCanary", "judge_canary", result_path="$.canary")
    promote = with_traffic("Promote", "promote", result_path="$.watch")
    judge_watch = with_traffic("JudgeWatch", "judge_watch", result_path="$.watch")
    shift_control = with_traffic("ShiftControl", "promote", result_path="$.watch")
    complete_watch = with_traffic("CompleteWatch", "promote", result_path="$.watch")

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

    canary_next = (
        sfn.Choice(scope, "CanaryNext?")
        .when(
            sfn.Condition.string_equals("$.canary.next", "bake"),
            wait_for(scope, "Bake", seconds_path="$.canary.wait_seconds").next(judge_canary),
        )
        .when(sfn.Condition.string_equals("$.canary.next", "promote"), promote)
        .when(sfn.Condition.string_equals("$.canary.next", "shift"), shift_traffic)
        # The judge answers "rollback" (with its evidence) when the canary is UNHEALTHY.
        .when(sfn.Condition.string_equals("$.canary.next", "rollback"), rollback)
        # A Choice cannot Catch: without a default an unexpected answer would fail the execution
        # with States.NoChoiceMatched and leave the alias half-shifted.
        .otherwise(rollback)
    )
    shift_traffic.next(canary_next)
    judge_canary.next(canary_next)

    watch_next = (
        sfn.Choice(scope, "WatchNext?")
        .when(
            sfn.Condition.string_equals("$.watch.next", "watch"),
            wait_for(scope, "WatchWait", seconds_path="$.watch.wait_seconds").next(judge_watch),
        )
        # A breach during the watch: put the baseline back at once.
        .when(sfn.Condition.string_equals("$.watch.next", "rollback"), rollback)
        # A breach of an unpaired watch: a control share back on the previous version first.
        .when(sfn.Condition.string_equals("$.watch.next", "control"), shift_control)
        # The watch is over: the holdback moves to the new version.
        .when(sfn.Condition.string_equals("$.watch.next", "complete"), complete_watch)
        .when(sfn.Condition.string_equals("$.watch.next", "done"), record)
        # As for the canary: an unexpected answer must not end the execution with a holdback left.
        .otherwise(rollback)
    )
    for step in (promote, judge_watch, shift_control, complete_watch):
        step.next(watch_next)

    smoke_test.next(shift_traffic)
    update_function.next(update_settled)
    return validate.next(preflight).next(update_function)


class DeployWorkflow(Workflow):
    """The DeployFunction state machine (STANDARD), logging ALL with execution data, traced."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, steps: DeployTasks) -> None:
        super().__init__(scope, construct_id)
        self._create(
            settings=settings,
            definition=build_deploy_definition(self, steps=steps),
            comment="Rollgate DeployFunction: one function, one alias, through the gates.",
            invokes="thirteen DeployFunction task functions",
        )
