"""SqsQueueProbe (DLQ depth by URL or ARN) and CloudWatchAlarmProbe (guarding alarm states)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from rollgate.aws.alarms import CloudWatchAlarmProbe
from rollgate.aws.queues import SqsQueueProbe, queue_arn_to_url
from rollgate.domain.shared.errors import InvalidRequest, NotFoundError


@pytest.fixture
def dlq(sqs_client) -> tuple[str, str]:
    """A queue holding 3 messages, one of them in flight; returns (url, arn)."""
    url = sqs_client.create_queue(QueueName="orders-dlq")["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs_client.send_message(QueueUrl=url, MessageBody=body)
    sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_depth_counts_visible_and_in_flight_messages_by_url(sqs_client, dlq):
    url, _ = dlq

    assert SqsQueueProbe(sqs_client).depth(url) == 3


def test_depth_by_arn(sqs_client, dlq):
    url, arn = dlq

    assert queue_arn_to_url(sqs_client, arn) == url
    assert SqsQueueProbe(sqs_client).depth(arn) == 3


def test_depth_of_an_unknown_queue_is_not_found(sqs_client):
    with pytest.raises(NotFoundError, match="sqs:GetQueueUrl arn:aws:sqs:us-east-1:123456789012:nope"):
        SqsQueueProbe(sqs_client).depth("arn:aws:sqs:us-east-1:123456789012:nope")


def test_a_malformed_arn_is_refused(sqs_client):
    with pytest.raises(InvalidRequest, match="not an SQS queue ARN"):
        queue_arn_to_url(sqs_client, "arn:aws:sns:us-east-1:123456789012:topic")


def _alarm(cloudwatch_client, name: str) -> None:
    cloudwatch_client.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Dimensions=[{"Name": "FunctionName", "Value": "orders"}],
    )


def test_alarm_states(cloudwatch_client):
    # given one alarm firing and one quiet
    _alarm(cloudwatch_client, "orders-errors")
    _alarm(cloudwatch_client, "orders-latency")
    cloudwatch_client.set_alarm_state(AlarmName="orders-errors", StateValue="ALARM", StateReason="3 errors")
    cloudwatch_client.set_alarm_state(AlarmName="orders-latency", StateValue="OK", StateReason="fine")

    observations = CloudWatchAlarmProbe(cloudwatch_client).states(["orders-errors", "orders-latency"])

    assert [(o.name, o.state_now, o.state_at_preflight, o.reason) for o in observations] == [
        ("orders-errors", "ALARM", "ALARM", "3 errors"),
        ("orders-latency", "OK", "OK", "fine"),
    ]


def test_unknown_alarms_are_named(cloudwatch_client):
    _alarm(cloudwatch_client, "orders-errors")

    with pytest.raises(NotFoundError, match="not found: ghost-1, ghost-2"):
        CloudWatchAlarmProbe(cloudwatch_client).states(["orders-errors", "ghost-1", "ghost-2"])


def test_no_alarms_no_call(cloudwatch_client):
    with Stubber(cloudwatch_client):  # any call would fail: nothing is queued
        assert CloudWatchAlarmProbe(cloudwatch_client).states([]) == []


def test_composite_alarms_are_read_too(cloudwatch_client):
    # moto does not implement PutCompositeAlarm, so the DescribeAlarms answer is stubbed
    with Stubber(cloudwatch_client) as stub:
        stub.add_response(
            "describe_alarms",
            {
                "MetricAlarms": [],
                "CompositeAlarms": [{"AlarmName": "orders-health", "StateValue": "ALARM", "StateReason": "rule"}],
            },
            expected_params={"AlarmNames": ["orders-health"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
        )
        [observation] = CloudWatchAlarmProbe(cloudwatch_client).states(["orders-health"])

    assert (observation.name, observation.state_now) == ("orders-health", "ALARM")
