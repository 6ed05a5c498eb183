"""rollgate.domain.deploy.controls.TaskTokens over Step Functions: SendTaskSuccess / SendTaskFailure."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.domain.deploy.controls import ControlRefused

#: A token nobody waits on any more: answered already, timed out, or its execution ended.
_GONE = frozenset({"InvalidToken", "TaskTimedOut", "TaskDoesNotExist"})


class StepFunctionsTaskTokens:
    def __init__(self, client: Any) -> None:
        self._client = client

    def succeed(self, task_token: str, output: str) -> None:
        with self._answering("states:SendTaskSuccess"):
            self._client.send_task_success(taskToken=task_token, output=output)

    def fail(self, task_token: str, error: str, cause: str) -> None:
        with self._answering("states:SendTaskFailure"):
            self._client.send_task_failure(taskToken=task_token, error=error, cause=cause)

    @staticmethod
    @contextmanager
    def _answering(call: str) -> Iterator[None]:
        try:
            with translate_client_errors(call):
                yield
        except ClientError as error:
            code = error_code(error)
            if code in _GONE:
                why = "the approval was already answered or timed out, or its execution is not running"
                raise ControlRefused(f"{why} ({code})") from None
            raise
