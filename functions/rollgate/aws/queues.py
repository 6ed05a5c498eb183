"""ports.QueueProbe over SQS: how many messages a (dead-letter) queue holds, and which dead-letter
queue a source queue redrives to; ports.MessageMover: a DLQ's messages moved back (redrive)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import translate_client_errors
from rollgate.domain.shared.errors import ConflictError, InvalidRequest
from rollgate.domain.shared.ports import MessageMoveTask

_DEPTH_ATTRIBUTES = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")


def queue_arn_to_url(client: Any, queue_arn: str) -> str:
    """The URL of the queue `arn:aws:sqs:<region>:<account>:<name>` (GetQueueUrl with the owner)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        raise InvalidRequest(f"{queue_arn!r} is not an SQS queue ARN")
    account, name = parts[4], parts[5]
    with translate_client_errors(f"sqs:GetQueueUrl {queue_arn}"):
        response = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
    return str(response["QueueUrl"])


class SqsQueueProbe:
    """ports.QueueProbe over `boto3.client("sqs")`."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def url_of(self, queue: str) -> str:
        """`queue` itself when it is a URL, else the URL of the queue ARN (resolved once)."""
        if not queue.startswith("arn:"):
            return queue
        if queue not in self._urls:
            self._urls[queue] = queue_arn_to_url(self._client, queue)
        return self._urls[queue]

    def redrive_target(self, queue: str) -> str | None:
        """deadLetterTargetArn of the queue's RedrivePolicy, or None when it has none."""
        url = self.url_of(queue)
        with translate_client_errors(f"sqs:GetQueueAttributes RedrivePolicy {queue}"):
            response = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = response.get("Attributes", {}).get("RedrivePolicy")
        if not policy:
            return None
        target = json.loads(policy).get("deadLetterTargetArn")
        return str(target) if target else None

    def depth(self, queue: str) -> int:
        """Visible + in-flight messages (ApproximateNumberOfMessages + …NotVisible)."""
        url = self.url_of(queue)
        with translate_client_errors(f"sqs:GetQueueAttributes {queue}"):
            response = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=list(_DEPTH_ATTRIBUTES))
        attributes = response.get("Attributes", {})
        return sum(int(attributes.get(name, 0)) for name in _DEPTH_ATTRIBUTES)


def _code(error: ClientError) -> str:
    """The error code without the query-compatible prefix SQS's JSON protocol may give it."""
    return str(error.response.get("Error", {}).get("Code", "")).removeprefix("AWS.SimpleQueueService.")


def _move_task(item: dict[str, Any]) -> MessageMoveTask:
    started = item.get("StartedTimestamp")
    return MessageMoveTask(
        status=str(item.get("Status", "")),
        source_arn=str(item.get("SourceArn", "")),
        destination_arn=item.get("DestinationArn"),
        handle=item.get("TaskHandle"),
        moved=int(item.get("ApproximateNumberOfMessagesMoved", 0)),
        to_move=int(item["ApproximateNumberOfMessagesToMove"]) if "ApproximateNumberOfMessagesToMove" in item else None,
        max_per_second=int(item["MaxNumberOfMessagesPerSecond"]) if "MaxNumberOfMessagesPerSecond" in item else None,
        started_at=datetime.fromtimestamp(int(started) / 1000, tz=UTC) if started is not None else None,
        failure_reason=item.get("FailureReason"),
    )


class SqsMessageMover:
    """ports.MessageMover over `boto3.client("sqs")`: StartMessageMoveTask, ListMessageMoveTasks,
    CancelMessageMoveTask. The caller needs, besides those three on the DLQ, sqs:ReceiveMessage,
    DeleteMessage and GetQueueAttributes on the DLQ and sqs:SendMessage on the destination: SQS
    moves the messages with the caller's rights."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start_message_move(self, source_arn: str, destination_arn: str, *, max_per_second: int) -> str:
        call = f"sqs:StartMessageMoveTask {source_arn} -> {destination_arn}"
        try:
            with translate_client_errors(call):
                response = self._client.start_message_move_task(
                    SourceArn=source_arn, DestinationArn=destination_arn, MaxNumberOfMessagesPerSecond=max_per_second
                )
        except ClientError as error:
            code = _code(error)
            message = error.response.get("Error", {}).get("Message", "")
            if code == "UnsupportedOperation":  # a task runs on this DLQ already
                raise ConflictError(f"{call}: {message or code}") from None
            if code in ("InvalidParameterValue", "InvalidParameterValueException", "InvalidAddress"):
                raise InvalidRequest(f"{call}: {message or code}") from None
            raise
        return str(response["TaskHandle"])

    def message_moves(self, source_arn: str) -> list[MessageMoveTask]:
        with translate_client_errors(f"sqs:ListMessageMoveTasks {source_arn}"):
            response = self._client.list_message_move_tasks(SourceArn=source_arn, MaxResults=10)
        return [_move_task(item) for item in response.get("Results", [])]

    def cancel_message_move(self, handle: str) -> int | None:
        try:
            with translate_client_errors(f"sqs:CancelMessageMoveTask {handle}"):
                response = self._client.cancel_message_move_task(TaskHandle=handle)
        except ClientError as error:
            if _code(error) == "UnsupportedOperation":  # no longer RUNNING
                return None
            raise
        return int(response.get("ApproximateNumberOfMessagesMoved", 0))
