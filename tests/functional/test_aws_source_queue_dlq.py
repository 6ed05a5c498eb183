"""SqsQueueProbe.redrive_target: the dead-letter queue behind an SQS event source, from its redrive
policy, so preflight watches where the function's failed records end up."""

from __future__ import annotations

import json

from rollgate.aws.queues import SqsQueueProbe


def _arn(sqs_client, url: str) -> str:
    return sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_a_source_queues_redrive_dlq_is_found_by_its_arn(sqs_client):
    # given a source queue that redrives to a DLQ after 3 receives, and a queue without a policy
    dlq_arn = _arn(sqs_client, sqs_client.create_queue(QueueName="orders-source-dlq")["QueueUrl"])
    source_url = sqs_client.create_queue(
        QueueName="orders-source",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})},
    )["QueueUrl"]
    plain_url = sqs_client.create_queue(QueueName="orders-plain")["QueueUrl"]
    probe = SqsQueueProbe(sqs_client)
    # then the source's DLQ is named, by the source's ARN (as an event source mapping gives it)
    assert probe.redrive_target(_arn(sqs_client, source_url)) == dlq_arn
    assert probe.redrive_target(plain_url) is None
