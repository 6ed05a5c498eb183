"""ports.QueueProbe over SQS: how many messages a (dead-letter) queue holds, and which dead-letter
queue a source queue redrives to."""

from __future__ import annotations

import json
from typing import Any

from rollgate.aws.errors import translate_client_errors
from rollgate.domain.shared.errors import InvalidRequest

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
