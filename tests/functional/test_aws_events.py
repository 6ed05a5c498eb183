"""EventBridgePublisher: outcome events land on the Rollgate bus, and reach its subscribers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum

import pytest
from botocore.stub import Stubber

from rollgate.aws.events import EventBridgePublisher, to_json_text
from rollgate.domain.shared.errors import ThrottledError, TransientAwsError


class Colour(Enum):
    RED = "red"


def test_published_event_reaches_a_subscribed_queue(events_client, sqs_client, event_bus):
    # given a rule on the bus that forwards Rollgate events to a queue
    url = sqs_client.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events_client.put_rule(Name="outcomes", EventBusName=event_bus, EventPattern=json.dumps({"source": ["rollgate"]}))
    events_client.put_targets(Rule="outcomes", EventBusName=event_bus, Targets=[{"Id": "queue", "Arn": arn}])

    # when an outcome is published, with a datetime in its detail
    EventBridgePublisher(events_client, event_bus).publish(
        "Deployment Rolled Back",
        {"function_name": "orders", "finished_at": datetime(2030, 5, 1, 12, 0, tzinfo=UTC)},
    )

    # then the subscriber receives it, the datetime as ISO 8601
    [message] = sqs_client.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
    event = json.loads(message["Body"])
    assert event["source"] == "rollgate"
    assert event["detail-type"] == "Deployment Rolled Back"
    assert event["detail"] == {"function_name": "orders", "finished_at": "2030-05-01T12:00:00+00:00"}


def test_failed_entry_is_a_transient_error_with_its_code(events_client):
    with Stubber(events_client) as stub:
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
            expected_params={
                "Entries": [
                    {
                        "Source": "rollgate",
                        "DetailType": "Deployment Promoted",
                        "Detail": '{"a":1}',
                        "EventBusName": "bus",
                    }
                ]
            },
        )
        with pytest.raises(TransientAwsError, match="InternalFailure: try again"):
            EventBridgePublisher(events_client, "bus").publish("Deployment Promoted", {"a": 1})


def test_throttled_put_events_is_translated(events_client):
    with Stubber(events_client) as stub:
        stub.add_client_error("put_events", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(ThrottledError, match="events:PutEvents 'X' to bus bus"):
            EventBridgePublisher(events_client, "bus").publish("X", {})


def test_unknown_bus_is_not_found(events_client):
    from rollgate.domain.shared.errors import NotFoundError

    with pytest.raises(NotFoundError, match="nobus"):
        EventBridgePublisher(events_client, "nobus").publish("X", {})


def test_json_encoding_of_record_values():
    from decimal import Decimal

    assert json.loads(
        to_json_text(
            {
                "at": datetime(2030, 1, 1, tzinfo=UTC),
                "c": Colour.RED,
                "n": Decimal("3"),
                "f": Decimal("0.5"),
                "s": {"b", "a"},
            }
        )
    ) == {"at": "2030-01-01T00:00:00+00:00", "c": "red", "n": 3, "f": 0.5, "s": ["a", "b"]}
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        to_json_text({"x": object()})
