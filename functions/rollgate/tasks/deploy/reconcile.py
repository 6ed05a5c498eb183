"""Task Reconcile: put a function+alias right after a deployment execution ended early.

Invoked by the EventBridge rule on Step Functions "Execution Status Change" (ABORTED, TIMED_OUT,
FAILED) of the DeployFunction state machine, directly with a ReconcileRequest, or by the
DeployFunction execution's own Reconcile step (its whole state, a DeploymentContext) when Record,
ReleaseLease or Rollback failed past their retries: then it answers as Record does. A transient
error is raised for the invoker to retry with backoff; any other failure pages first (a
"Rollback Failed" event, which the notifications rule sends to the SNS topic).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.domain.deploy.reconcile import (
    ReconcileRequest,
    page,
    reconcile,
    reconcile_from_the_execution,
    request_from_context,
    request_from_status_change,
)
from rollgate.domain.shared.errors import TransientAwsError
from rollgate.domain.shared.models import DeploymentContext, parse_model
from rollgate.domain.shared.validation import StackHome
from rollgate.tasks._runtime import dependencies, logger, metrics, tracer

T = TypeVar("T")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    home = StackHome.from_arn(getattr(context, "invoked_function_arn", None))
    if "deployment_id" in event and "request" in event:
        ctx = DeploymentContext.model_validate(event)
        result = _paging_on_failure(request_from_context(ctx), partial(reconcile_from_the_execution, ctx))
        logger.info("reconciled in the execution", extra={"status": result["status"]})
        return result
    if "detail" in event:
        request = request_from_status_change(event, home)
        if request is None:
            logger.info("not a deployment that ended early: nothing to reconcile")
            return {"status": "NOTHING_TO_DO"}
    else:
        request = parse_model(ReconcileRequest, event, "reconcile", home=home)
    report = _paging_on_failure(request, partial(reconcile, request))
    if report.outcome_written:
        # the deployment's outcome, as Record counts it: the dashboard and the alarms see it too
        metrics.add_dimension(name="outcome", value=report.outcome_written)
        metrics.add_metric(name="Deployments", unit=MetricUnit.Count, value=1)
    logger.info("reconciled", extra={"status": report.status, "did": report.did})
    return report.model_dump(mode="json")


def _paging_on_failure(request: ReconcileRequest, run: Callable[..., T]) -> T:
    """`run` with the ports; a transient error is raised for the invoker (the rule or the state
    machine) to retry with backoff, reconcile being idempotent; any other failure pages first."""
    deps = dependencies()
    logger.append_keys(function_name=request.function_name, alias=request.alias)
    try:
        return run(
            ledger=deps.ledger,
            lambda_api=deps.lambda_api,
            events=deps.events,
            clock=deps.clock,
            executions=StepFunctionsExecutions(boto3.client("stepfunctions")),
        )
    except TransientAwsError:
        raise
    except Exception as error:
        page(request, error, events=deps.events)
        raise
