"""The EventBridge target of every trigger rule: start the Release or Remediate workflow under a
name derived from the event, so a duplicate delivery or an EventBridge retry starts nothing twice.

Environment: RELEASE_STATE_MACHINE_ARN, REMEDIATE_STATE_MACHINE_ARN, ARTIFACT_BUCKET_NAME,
RELEASE_BRANCHES (comma-separated globs), GUARD_ALARM_PREFIX.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from rollgate import contract
from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.aws.settings import ConfigurationError
from rollgate.domain.shared.triggers import WorkflowStart, start_for_event

logger = Logger(service="rollgate")
_REQUIRED = tuple(
    v.name for v in (contract.RELEASE_STATE_MACHINE, contract.REMEDIATE_STATE_MACHINE, contract.ARTIFACT_BUCKET)
)
_OPTIONAL = (contract.RELEASE_BRANCHES, contract.GUARD_ALARM_PREFIX)


@functools.cache
def _environment() -> dict[str, str]:
    missing = [name for name in _REQUIRED if not os.environ.get(name)]
    if missing:
        raise ConfigurationError(f"environment variable(s) required but not set: {', '.join(missing)}")
    return {name: os.environ[name] for name in _REQUIRED} | {
        v.name: os.environ.get(v.name) or str(v.default) for v in _OPTIONAL
    }


@functools.cache
def _sfn() -> Any:
    return boto3.client("stepfunctions")


def start(plan: WorkflowStart, state_machine_arn: str, client: Any) -> dict[str, Any]:
    """StartExecution; an execution of that name already existing is the dedupe working."""
    with translate_client_errors(f"states:StartExecution {plan.name}"):
        try:
            response = client.start_execution(
                stateMachineArn=state_machine_arn, name=plan.name, input=json.dumps(plan.input)
            )
        except ClientError as error:
            if error_code(error) != "ExecutionAlreadyExists":
                raise
            logger.info("duplicate trigger: execution already exists", extra={"execution_name": plan.name})
            return {"started": False, "workflow": plan.workflow, "name": plan.name, "duplicate": True}
    logger.info("workflow started", extra={"execution_arn": response["executionArn"]})
    return {"started": True, "workflow": plan.workflow, "name": plan.name, "execution_arn": response["executionArn"]}


@logger.inject_lambda_context(correlation_id_path="id", clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env = _environment()
    plan = start_for_event(
        event,
        artifact_bucket=env["ARTIFACT_BUCKET_NAME"],
        release_branches=[p.strip() for p in env["RELEASE_BRANCHES"].split(",") if p.strip()],
        guard_alarm_prefix=env["GUARD_ALARM_PREFIX"],
    )
    if isinstance(plan, str):
        logger.info("event ignored", extra={"why": plan, "detail_type": event.get("detail-type")})
        return {"started": False, "ignored": plan}
    arn = env["RELEASE_STATE_MACHINE_ARN"] if plan.workflow == "release" else env["REMEDIATE_STATE_MACHINE_ARN"]
    logger.append_keys(workflow=plan.workflow, execution_name=plan.name)
    return start(plan, arn, _sfn())
