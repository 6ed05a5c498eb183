"""Building blocks shared by Rollgate's state machines: how a task step calls its Lambda and
which errors it retries.

Error names are exception class names in ``rollgate.domain.shared.errors`` (infra names them, it does
not import runtime code; tests/infra checks the two agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

#: Our adapters' transient failures (5xx, throttling, ResourceConflictException / stale RevisionId).
#: Step Functions matches error names exactly, not by class hierarchy, so every subclass is listed.
TRANSIENT_ERRORS: tuple[str, ...] = ("TransientAwsError", "ThrottledError", "ConflictError")
#: Failures of the Lambda service itself while invoking the task.
LAMBDA_SERVICE_ERRORS: tuple[str, ...] = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
RETRYABLE_ERRORS: tuple[str, ...] = (*TRANSIENT_ERRORS, *LAMBDA_SERVICE_ERRORS)

#: Attempts for an ordinary gate, and for the steps that must not give up early (rollback, record):
#: 2 s doubling with full jitter, so 8 attempts span minutes of throttling, not seconds.
DEFAULT_ATTEMPTS = 5
PERSISTENT_ATTEMPTS = 8


def add_transient_retry(step: sfn.TaskStateBase, *, max_attempts: int = DEFAULT_ATTEMPTS) -> None:
    """The one Retry every task carries. Business errors are never retried."""
    step.add_retry(
        errors=list(RETRYABLE_ERRORS),
        interval=Duration.seconds(2),
        max_attempts=max_attempts,
        backoff_rate=2,
        jitter_strategy=sfn.JitterType.FULL,
    )


def lambda_step(
    scope: Construct,
    state_name: str,
    *,
    function: lambda_.IFunction,
    result_path: str,
    payload: sfn.TaskInput | None = None,
    max_attempts: int = DEFAULT_ATTEMPTS,
    comment: str | None = None,
) -> tasks.LambdaInvoke:
    """A Task state that invokes ``function`` with the state (or ``payload``) and keeps its result
    at ``result_path``.

    ``payload_response_only`` makes the state's Resource the function ARN (the optimised
    integration's envelope is dropped); the Lambda service errors are retried by our own Retry,
    not by CDK's default one, so each state has exactly one.
    """
    step = tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        payload=payload,
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_path=result_path,
        comment=comment,
    )
    add_transient_retry(step, max_attempts=max_attempts)
    return step


def await_task_token(
    scope: Construct,
    state_name: str,
    function: lambda_.IFunction,
    *,
    payload_key: str,
    timeout_path: str,
    result_path: str,
) -> tasks.LambdaInvoke:
    """A `waitForTaskToken` state (an approval gate): `function` gets the task token and the whole
    state under `payload_key`, and the execution waits for the token's answer up to the seconds at
    `timeout_path` (then States.Timeout). Transient invoke errors are retried like any task's."""
    step = tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload=sfn.TaskInput.from_object(
            {"approval_token": sfn.JsonPath.task_token, payload_key: sfn.JsonPath.entire_payload}
        ),
        task_timeout=sfn.Timeout.at(timeout_path),
        retry_on_service_exceptions=False,
        result_path=result_path,
    )
    add_transient_retry(step)
    return step


def catch(
    step: tasks.LambdaInvoke,
    handler: sfn.IChainable,
    *,
    errors: Sequence[str] = (sfn.Errors.ALL,),
    result_path: str = "$.error",
) -> tasks.LambdaInvoke:
    """Route ``errors`` raised by ``step`` (after its retries) to ``handler``, keeping the state
    and putting {Error, Cause} at ``result_path``."""
    step.add_catch(handler, errors=list(errors), result_path=result_path)
    return step


def wait_for(scope: Construct, state_name: str, *, seconds_path: str) -> sfn.Wait:
    """A Wait whose duration the previous task decides (never a fixed sleep)."""
    return sfn.Wait(scope, state_name, time=sfn.WaitTime.seconds_path(seconds_path))


def fail_on_error(scope: Construct, state_name: str, *, error: str, error_path: str = "$.error") -> sfn.Fail:
    """A Fail that carries the caught error's cause (the message naming the field, the holder …)."""
    return sfn.Fail(scope, state_name, error=error, cause_path=f"{error_path}.Cause")


def concluded(
    scope: Construct, *, choice_name: str, succeeded: str, failed: str, success_condition: sfn.Condition
) -> sfn.Choice:
    """After the Record step: the execution's status says what happened. Success returns the record
    ($.result); anything else fails with the record's error name and reason, so the console, an
    ExecutionsFailed alarm and `rollgate watch` all see the conclusion."""
    return (
        sfn.Choice(scope, choice_name)
        .when(success_condition, sfn.Succeed(scope, succeeded, output_path="$.result"))
        .otherwise(sfn.Fail(scope, failed, error_path="$.result.error_name", cause_path="$.result.reason"))
    )
