"""Step Functions reads for reconcile: whether the execution holding a lease still runs
(DescribeExecution), and the baseline its Preflight captured (GetExecutionHistory)."""

from __future__ import annotations

import json
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

    def baseline_version(self, execution_arn: str) -> str | None:
        """The live version Preflight recorded as the baseline (`$.baseline.live_version` of its
        output), or None when the execution never left Preflight."""
        call = f"states:GetExecutionHistory {execution_arn}"
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 1000}
        while True:
            with translate_client_errors(call):
                try:
                    page = self._client.get_execution_history(**kwargs)
                except ClientError as error:
                    if error_code(error) in {"ExecutionDoesNotExist", "InvalidArn"}:
                        return None
                    raise
            for event in page.get("events", []):
                exited = event.get("stateExitedEventDetails") or {}
                if exited.get("name") == "Preflight":
                    return _live_version(exited.get("output"))
            if not page.get("nextToken"):
                return None
            kwargs["nextToken"] = page["nextToken"]


def _live_version(output: Any) -> str | None:
    try:
        document = json.loads(output or "null")
    except ValueError:
        return None
    baseline = document.get("baseline") if isinstance(document, dict) else None
    version = baseline.get("live_version") if isinstance(baseline, dict) else None
    return str(version) if version else None
