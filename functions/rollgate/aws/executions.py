"""Step Functions DescribeExecution: whether the execution holding a lease still runs (reconcile,
and a remediation taking over the lease of a holder that is gone)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors


class StepFunctionsExecutions:
    """`status(arn)`: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE, or None when
    there is no such execution (deleted, or an ARN from elsewhere)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def status(self, execution_arn: str) -> str | None:
        with translate_client_errors(f"states:DescribeExecution {execution_arn}"):
            try:
                response = self._client.describe_execution(executionArn=execution_arn)
            except ClientError as error:
                if error_code(error) in {"ExecutionDoesNotExist", "InvalidArn"}:
                    return None
                raise
        return str(response.get("status") or "") or None
