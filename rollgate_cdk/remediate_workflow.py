"""RemediateWorkflow: an alarm (or an operator) to a verified rollback, recorded and announced.

Shape::

    Assess -> Action?
    Action?         rollback | abort | take_over -> Remediate -> RecordRemediation;
                    else ("none") -> RecordRemediation
    RecordRemediation -> Remediated?
    Remediated?     FAILED -> RemediationFailed (Fail);  else -> Remediated (Succeed)

Assess changes nothing; it fails the execution directly when the input names no function (there is
no history to record it in). Remediate's failures are caught and recorded.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from rollgate.contract import INVALID_REQUEST, RemediationAction, Status, step
from rollgate_cdk.release_tasks import RemediateTasks
from rollgate_cdk.settings import Settings
from rollgate_cdk.states import PERSISTENT_ATTEMPTS, catch, concluded
from rollgate_cdk.workflow import Workflow


def build_remediate_definition(scope: Construct, *, steps: RemediateTasks) -> sfn.IChainable:
    conclusion = concluded(
        scope,
        choice_name="Remediated?",
        succeeded="Remediated",
        failed="RemediationFailed",
        success_condition=sfn.Condition.not_(
            sfn.Condition.string_equals(f"{step('RecordRemediation').result_path}.status", Status.FAILED.value)
        ),
    )
    record = steps.record_state(scope, step("RecordRemediation"), conclusion=conclusion)
    assess = steps.entry_state(
        scope, step("Assess"), refusals={INVALID_REQUEST: "RejectInvalidRequest"}, failed="AssessFailed"
    )

    remediate = catch(
        steps.task_state(scope, step("Remediate"), max_attempts=PERSISTENT_ATTEMPTS),
        record,
    )
    remediate.next(record)
    action = (
        sfn.Choice(scope, "Action?")
        .when(sfn.Condition.string_equals("$.action", RemediationAction.ROLLBACK.value), remediate)
        .when(sfn.Condition.string_equals("$.action", RemediationAction.ABORT.value), remediate)
        # the lease holder's execution no longer runs: Reconcile puts the alias back and frees the lease
        .when(sfn.Condition.string_equals("$.action", RemediationAction.TAKE_OVER.value), remediate)
        .otherwise(record)
    )
    return assess.next(action)


class RemediateWorkflow(Workflow):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, steps: RemediateTasks) -> None:
        super().__init__(scope, construct_id)
        self._create(
            settings=settings,
            definition=build_remediate_definition(self, steps=steps),
            comment="Rollgate Remediate: alarm or operator to a verified rollback of the latest promotion.",
            invokes="Remediate task functions",
        )
