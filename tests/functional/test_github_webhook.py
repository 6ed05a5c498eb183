"""The GitHub webhook receiver against moto: what GitHub gets back, what lands in the table and
what reaches a subscriber of the Rollgate bus."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import boto3
import pytest
from botocore.stub import Stubber

from rollgate.aws.clock import set_clock_provider
from rollgate.aws.deliveries import DeliveryLog
from rollgate.aws.secrets import SecretReader
from rollgate.aws.settings import ConfigurationError
from rollgate.domain.shared.errors import NotFoundError, ThrottledError, TransientAwsError
from rollgate.triggers import github_webhook
from tests.unit.fakes import FakeClock

REGION = "us-east-1"
SECRET = "It's a Secret to Everybody"
COMMIT = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
#: appears in the body only: the logs must never carry it
BODY_MARKER = "commit message nobody should find in the logs"


@dataclass
class FakeContext:
    function_name: str = "rollgate-github-webhook"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rollgate-github-webhook"
    aws_request_id: str = "req-1"


@dataclass
class Bus:
    """The Rollgate bus, with a rule forwarding the receiver's events to a queue."""

    sqs: Any
    queue_url: str

    def received(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def secret_arn(aws: None) -> str:
    client = boto3.client("secretsmanager", region_name=REGION)
    return str(client.create_secret(Name="rollgate-github-webhook", SecretString=SECRET)["ARN"])


@pytest.fixture
def bus(events_client, sqs_client, event_bus: str) -> Bus:
    url = sqs_client.create_queue(QueueName="release-requests")["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events_client.put_rule(
        Name="release-branch-pushed",
        EventBusName=event_bus,
        EventPattern=json.dumps({"source": ["rollgate.github"]}),
    )
    events_client.put_targets(
        Rule="release-branch-pushed", EventBusName=event_bus, Targets=[{"Id": "queue", "Arn": arn}]
    )
    return Bus(sqs=sqs_client, queue_url=url)


@pytest.fixture
def webhook_env(
    monkeypatch: pytest.MonkeyPatch, ledger_table: str, event_bus: str, secret_arn: str
) -> Iterator[dict[str, str]]:
    variables = {
        "LEDGER_TABLE_NAME": ledger_table,
        "EVENT_BUS_NAME": event_bus,
        "WEBHOOK_SECRET_ARN": secret_arn,
        "RELEASE_BRANCHES": "release/*, hotfix/*",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for name in ("ROLLGATE_CLOCK_SPEED", "ROLLGATE_CLOCK_REAL_ORIGIN", "ROLLGATE_CLOCK_VIRTUAL_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    github_webhook.dependencies.cache_clear()
    yield variables
    github_webhook.dependencies.cache_clear()


def push_payload(branch: str = "release/2030.05", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ref": f"refs/heads/{branch}",
        "before": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
        "after": COMMIT,
        "deleted": False,
        "repository": {"full_name": "acme/orders-api"},
        "pusher": {"name": "octocat"},
        "sender": {"login": "octocat"},
        "head_commit": {"id": COMMIT, "message": BODY_MARKER},
    }
    payload.update(overrides)
    return payload


def request(
    payload: Any = None,
    *,
    event: str = "push",
    delivery: str | None = "delivery-1",
    secret: str | None = SECRET,
    body: bytes | None = None,
    base64_encoded: bool = False,
    method: str = "POST",
    content_type: str = "application/json",
) -> dict[str, Any]:
    """A Lambda function URL request (payload format 2.0) as GitHub's delivery makes it."""
    raw = body if body is not None else json.dumps(push_payload() if payload is None else payload).encode()
    headers = {"content-type": content_type, "user-agent": "GitHub-Hookshot/abc", "x-github-event": event}
    if delivery is not None:
        headers["x-github-delivery"] = delivery
    if secret is not None:
        headers["x-hub-signature-256"] = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/"}},
        "body": base64.b64encode(raw).decode() if base64_encoded else raw.decode(),
        "isBase64Encoded": base64_encoded,
    }


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = github_webhook.lambda_handler(event, FakeContext())
    assert response["headers"]["content-type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def table_items(dynamodb_client, table: str) -> list[dict[str, Any]]:
    return list(dynamodb_client.scan(TableName=table)["Items"])


# --------------------------------------------------------------------------- accepted pushes
def test_push_to_a_release_branch_requests_a_release(webhook_env, bus, dynamodb_client, ledger_table) -> None:
    # given a signed push to release/2030.05, and the receiver's clock at a known instant
    clock = FakeClock()
    set_clock_provider(lambda: clock)
    # when GitHub delivers it
    try:
        status, body = call(request(push_payload(), delivery="d-100"))
    finally:
        set_clock_provider(None)

    # then GitHub hears that a release was requested for that commit
    assert status == 202
    assert body == {
        "message": "release requested",
        "repository": "acme/orders-api",
        "branch": "release/2030.05",
        "commit": COMMIT,
    }
    # and a subscriber of the bus receives the event
    [event] = bus.received()
    assert event["source"] == "rollgate.github"
    assert event["detail-type"] == "Release Branch Pushed"
    assert event["detail"] == {
        "repository": "acme/orders-api",
        "branch": "release/2030.05",
        "commit": COMMIT,
        "pushed_by": "octocat",
        "delivery_id": "d-100",
        "provider": "github",
    }
    # and the delivery is claimed for a week
    [item] = table_items(dynamodb_client, ledger_table)
    assert item["pk"] == {"S": "DELIVERY#d-100"} and item["sk"] == {"S": "DELIVERY"}
    assert int(item["ttl"]["N"]) == int(clock.now().timestamp()) + 7 * 24 * 3600


def test_base64_encoded_body_is_verified_over_its_decoded_bytes(webhook_env, bus) -> None:
    status, body = call(request(push_payload(), base64_encoded=True))
    assert (status, body["message"]) == (202, "release requested")
    assert len(bus.received()) == 1


def test_form_encoded_delivery_is_accepted(webhook_env, bus) -> None:
    # given a webhook configured with content type application/x-www-form-urlencoded
    raw = urlencode({"payload": json.dumps(push_payload(branch="hotfix/payments"))}).encode()
    status, body = call(request(body=raw, content_type="application/x-www-form-urlencoded"))
    assert (status, body["branch"]) == (202, "hotfix/payments")
    assert [event["detail"]["branch"] for event in bus.received()] == ["hotfix/payments"]


# --------------------------------------------------------------------------- signatures
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda event: event["headers"].pop("x-hub-signature-256"), id="missing"),
        pytest.param(lambda event: event["headers"].update({"x-hub-signature-256": "sha256=" + "0" * 64}), id="wrong"),
        pytest.param(lambda event: event["headers"].update({"x-hub-signature-256": "garbage"}), id="malformed"),
        pytest.param(lambda event: event.update({"body": event["body"].replace("2030.05", "2030.06")}), id="tampered"),
    ],
)
def test_bad_signature_gets_401_and_nothing_else_happens(
    webhook_env, bus, dynamodb_client, ledger_table, tamper: Callable[[dict[str, Any]], Any]
) -> None:
    # given a push to a release branch whose signature does not hold
    event = request(push_payload())
    tamper(event)
    # when it arrives
    status, body = call(event)
    # then it is refused, nothing is written and nothing is published
    assert (status, body) == (401, {"message": "invalid signature"})
    assert table_items(dynamodb_client, ledger_table) == []
    assert bus.received() == []


def test_push_signed_with_another_secret_gets_401(webhook_env, bus, dynamodb_client, ledger_table) -> None:
    status, body = call(request(push_payload(), secret="guessed"))
    assert (status, body) == (401, {"message": "invalid signature"})
    assert table_items(dynamodb_client, ledger_table) == []
    assert bus.received() == []


def test_ping_needs_a_signature_too(webhook_env) -> None:
    assert call(request({"zen": "Design for failure."}, event="ping", secret=None))[0] == 401
    assert call(request({"zen": "Design for failure."}, event="ping")) == (200, {"message": "pong"})


# --------------------------------------------------------------------------- ignored deliveries
@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (push_payload(branch="main"), "ignored: branch main matches no release branch pattern (release/*, hotfix/*)"),
        (push_payload(ref="refs/tags/v1.2.0"), "ignored: refs/tags/v1.2.0 is not a branch"),
        (push_payload(deleted=True, after="0" * 40), "ignored: branch release/2030.05 was deleted"),
    ],
)
def test_pushes_that_are_not_releases_are_ignored(
    webhook_env, bus, dynamodb_client, ledger_table, payload: dict[str, Any], why: str
) -> None:
    status, body = call(request(payload))
    assert (status, body) == (202, {"message": why})
    assert table_items(dynamodb_client, ledger_table) == []
    assert bus.received() == []


def test_other_github_events_are_ignored(webhook_env, bus) -> None:
    status, body = call(request({"action": "opened"}, event="issues"))
    assert (status, body) == (202, {"message": "ignored: issues events do not start releases"})
    assert bus.received() == []


def test_default_release_branch_pattern(webhook_env, monkeypatch, bus) -> None:
    monkeypatch.delenv("RELEASE_BRANCHES")
    github_webhook.dependencies.cache_clear()
    assert call(request(push_payload(branch="hotfix/payments")))[0] == 202
    assert call(request(push_payload(branch="release/1"), delivery="delivery-2"))[1]["message"] == "release requested"
    assert [event["detail"]["branch"] for event in bus.received()] == ["release/1"]


def test_non_post_gets_405(webhook_env) -> None:
    response = github_webhook.lambda_handler(request(method="GET"), FakeContext())
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "POST"


# --------------------------------------------------------------------------- deduplication
def test_redelivery_of_an_accepted_delivery_is_a_duplicate(webhook_env, bus, dynamodb_client, ledger_table) -> None:
    # given a delivery that was accepted
    assert call(request(push_payload(), delivery="d-7"))[0] == 202
    # when GitHub delivers the same id again
    status, body = call(request(push_payload(), delivery="d-7"))
    # then it is acknowledged but starts no second release
    assert (status, body) == (200, {"message": "duplicate delivery d-7; already accepted"})
    assert len(bus.received()) == 1
    assert len(table_items(dynamodb_client, ledger_table)) == 1


def test_another_delivery_of_the_same_commit_is_a_new_request(webhook_env, bus) -> None:
    assert call(request(push_payload(), delivery="d-1"))[0] == 202
    assert call(request(push_payload(), delivery="d-2"))[0] == 202
    assert sorted(event["detail"]["delivery_id"] for event in bus.received()) == ["d-1", "d-2"]


def test_push_without_a_delivery_id_is_a_bad_request(webhook_env, bus) -> None:
    status, body = call(request(push_payload(), delivery=None))
    assert (status, body) == (400, {"message": "the X-GitHub-Delivery header is missing"})
    assert bus.received() == []


def test_malformed_push_payload_names_the_field(webhook_env, bus, dynamodb_client, ledger_table) -> None:
    payload = push_payload()
    del payload["repository"]["full_name"]
    status, body = call(request(payload))
    assert status == 400
    assert body["message"] == "invalid push payload: repository.full_name: required field is missing"
    assert table_items(dynamodb_client, ledger_table) == []


def test_body_that_is_not_json_is_a_bad_request(webhook_env, bus) -> None:
    status, body = call(request(body=b"payload=not-json"))
    assert status == 400 and body["message"].startswith("invalid push payload: body: not valid JSON")


def test_deeply_nested_body_is_a_bad_request_not_a_crash(webhook_env, bus) -> None:
    status, body = call(request(body=b"[" * 5000 + b"]" * 5000))
    assert status == 400 and body["message"].startswith("invalid push payload: body")


# --------------------------------------------------------------------------- failures
def test_failed_publish_answers_502_and_releases_the_claim(webhook_env, bus, dynamodb_client, ledger_table) -> None:
    # given a bus that refuses the event
    publisher = github_webhook.dependencies().events
    refused = TransientAwsError("events:PutEvents failed: InternalFailure")
    with mock.patch.object(publisher, "publish", side_effect=refused):
        # when a release branch push arrives
        status, body = call(request(push_payload(), delivery="d-9"))
    # then GitHub is told it failed, and the delivery is not remembered
    assert status == 502
    assert "redeliver" in body["message"]
    assert table_items(dynamodb_client, ledger_table) == []
    assert bus.received() == []
    # and when the bus works again, GitHub's redelivery of the same id requests the release
    assert call(request(push_payload(), delivery="d-9"))[0] == 202
    assert [event["detail"]["delivery_id"] for event in bus.received()] == ["d-9"]


def test_missing_bus_answers_502_and_releases_the_claim(
    webhook_env, monkeypatch, dynamodb_client, ledger_table
) -> None:
    # given a bus name that does not exist (PutEvents: ResourceNotFoundException)
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    github_webhook.dependencies.cache_clear()
    status, _ = call(request(push_payload(), delivery="d-10"))
    assert status == 502
    assert table_items(dynamodb_client, ledger_table) == []


def test_unreachable_table_answers_503_and_publishes_nothing(webhook_env, monkeypatch, bus) -> None:
    monkeypatch.setenv("LEDGER_TABLE_NAME", "no-such-table")
    github_webhook.dependencies.cache_clear()
    status, body = call(request(push_payload()))
    assert status == 503 and "redeliver" in body["message"]
    assert bus.received() == []


def test_unreadable_secret_answers_503(webhook_env, monkeypatch, bus) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf")
    github_webhook.dependencies.cache_clear()
    status, _ = call(request(push_payload()))
    assert status == 503
    assert bus.received() == []


@pytest.mark.parametrize("variable", ["LEDGER_TABLE_NAME", "EVENT_BUS_NAME", "WEBHOOK_SECRET_ARN"])
def test_missing_environment_variable_is_named(webhook_env, monkeypatch, variable: str) -> None:
    monkeypatch.delenv(variable)
    github_webhook.dependencies.cache_clear()
    with pytest.raises(ConfigurationError, match=f"environment variable {variable} is required but not set"):
        call(request(push_payload()))


def test_release_branches_without_a_pattern_is_named(webhook_env, monkeypatch) -> None:
    monkeypatch.setenv("RELEASE_BRANCHES", " , ")
    github_webhook.dependencies.cache_clear()
    with pytest.raises(ConfigurationError, match="environment variable RELEASE_BRANCHES: needs at least one"):
        call(request(push_payload()))


def test_logs_carry_the_delivery_id_but_not_the_body_or_the_secret(webhook_env, bus, monkeypatch) -> None:
    # the Powertools handler holds the stdout of import time: point it at a buffer
    output = io.StringIO()
    monkeypatch.setattr(github_webhook.logger.registered_handler, "stream", output)
    call(request(push_payload(), delivery="d-logged"))
    call(request(push_payload(), delivery="d-forged", secret="guessed"))
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    assert [line["status_code"] for line in lines] == [202, 401]
    assert {line.get("correlation_id") for line in lines} == {"d-logged", "d-forged"}
    text = json.dumps(lines)
    assert BODY_MARKER not in text
    assert SECRET not in text


def test_clients_time_out_fast_and_try_twice_at_most(webhook_env) -> None:
    config = github_webhook.dependencies().events._client.meta.config
    assert config.connect_timeout <= 2 and config.read_timeout <= 3
    assert config.retries["total_max_attempts"] == 2  # the first call and one retry


# --------------------------------------------------------------------------- adapters
def test_secret_reader_serves_from_memory_until_the_ttl_passes(secret_arn: str) -> None:
    # given a reader with a controllable clock
    client = boto3.client("secretsmanager", region_name=REGION)
    now = [1000.0]
    reader = SecretReader(client, ttl_seconds=300, monotonic=lambda: now[0])
    assert reader.get(secret_arn) == SECRET.encode()
    # when the secret changes
    client.put_secret_value(SecretId=secret_arn, SecretString="rotated")
    # then the cached value is served within the ttl (no Secrets Manager call) …
    now[0] += 299
    with Stubber(client):  # any call would fail: the stubber has no responses queued
        assert reader.get(secret_arn) == SECRET.encode()
    # … and the new value after it
    now[0] += 2
    assert reader.get(secret_arn) == b"rotated"


def test_secret_reader_returns_binary_secrets(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    arn = client.create_secret(Name="binary", SecretBinary=b"\x00\x01raw")["ARN"]
    assert SecretReader(client).get(arn) == b"\x00\x01raw"


def test_secret_reader_translates_errors(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    with pytest.raises(NotFoundError, match="secretsmanager:GetSecretValue missing"):
        SecretReader(client).get("missing")


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_delivery_log_claims_once_and_can_release(dynamodb_client, ledger_table: str) -> None:
    log = DeliveryLog(dynamodb_client, ledger_table, FixedClock())
    assert log.claim("d-1") is True
    assert log.claim("d-1") is False
    assert log.claim("d-2") is True
    log.release("d-1")
    assert log.claim("d-1") is True
    item = dynamodb_client.get_item(TableName=ledger_table, Key={"pk": {"S": "DELIVERY#d-1"}, "sk": {"S": "DELIVERY"}})
    assert item["Item"]["received_at"] == {"S": "2030-05-01T12:00:00.000000+00:00"}
    assert int(item["Item"]["ttl"]["N"]) == int(datetime(2030, 5, 8, 12, 0, tzinfo=UTC).timestamp())


def test_delivery_log_translates_throttling(dynamodb_client) -> None:
    log = DeliveryLog(dynamodb_client, "rollgate-ledger", FixedClock())
    with Stubber(dynamodb_client) as stub:
        stub.add_client_error("put_item", service_error_code="ProvisionedThroughputExceededException")
        with pytest.raises(ThrottledError, match="dynamodb:PutItem delivery d-1"):
            log.claim("d-1")
