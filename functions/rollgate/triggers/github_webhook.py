"""GitHub webhook receiver (Lambda function URL, payload format 2.0): a push to a release branch
becomes a `Release Branch Pushed` event on the Rollgate bus.

The function URL has no AWS auth (GitHub cannot sign AWS requests): the HMAC in
X-Hub-Signature-256, made with the secret held in Secrets Manager, is the authentication. A
request without a valid signature gets 401 and changes nothing.

    405  not a POST
    401  missing or wrong signature                     (nothing read but the secret, nothing written)
    200  ping; or a delivery id already accepted        (GitHub's retries and "Redeliver" are safe)
    202  ignored: another event, a tag, a deletion, a branch matching no release pattern
    400  malformed request (no delivery id, bad JSON, a payload field missing)
    202  release requested: the event is on the bus
    502  the event could not be put on the bus (the delivery is not kept, so a redelivery works)
    503  Secrets Manager or DynamoDB could not be reached (redeliver later)

GitHub gives a webhook 10 seconds, so AWS clients have short timeouts and at most 2 attempts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rollgate import contract
from rollgate.aws.clock import current_clock
from rollgate.aws.deliveries import DeliveryLog
from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.secrets import SecretReader
from rollgate.aws.settings import ConfigurationError
from rollgate.domain.release.push import (
    DETAIL_TYPE,
    EVENT_SOURCE,
    BranchPush,
    ignore_reason,
    is_release_branch,
    verify_signature,
)
from rollgate.domain.shared.errors import InvalidRequest, RollgateError
from rollgate.domain.shared.validation import load_json

logger = Logger(service="rollgate")
tracer = Tracer(service="rollgate")

DEFAULT_RELEASE_BRANCHES = tuple(str(contract.RELEASE_BRANCHES.default).split(","))
#: 1 s to connect, 2 s to answer, 2 attempts in all (botocore's `max_attempts` would count retries
#: only, so 3 calls): the calls of one delivery fit in GitHub's 10-second budget.
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})


class WebhookSettings(BaseModel):
    """The receiver's environment (the CDK WebhookReceiver construct sets it). Field aliases are
    the variable names, so validation errors name the variable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ledger_table_name: str = Field(alias=contract.LEDGER_TABLE.name)
    event_bus_name: str = Field(alias=contract.EVENT_BUS.name)
    webhook_secret_arn: str = Field(alias=contract.WEBHOOK_SECRET.name)
    #: comma-separated fnmatch globs
    release_branches: tuple[str, ...] = Field(default=DEFAULT_RELEASE_BRANCHES, alias=contract.RELEASE_BRANCHES.name)

    @field_validator("release_branches", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            patterns = tuple(pattern.strip() for pattern in value.split(",") if pattern.strip())
            if not patterns:
                raise ValueError("needs at least one branch pattern, e.g. release/*")
            return patterns
        return value

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        """Read from `environ` (default os.environ); empty values count as unset. Raises
        ConfigurationError naming each missing or malformed variable."""
        environ = os.environ if environ is None else environ
        values = {}
        for model_field in cls.model_fields.values():
            variable = str(model_field.alias)
            raw = environ.get(variable, "").strip()
            if raw:
                values[variable] = raw
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise ConfigurationError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        variable = str(problem["loc"][0]) if problem["loc"] else "environment"
        if problem["type"] == "missing":
            problems.append(f"environment variable {variable} is required but not set")
        else:
            problems.append(f"environment variable {variable}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


@dataclass(frozen=True)
class Dependencies:
    settings: WebhookSettings
    secrets: SecretReader
    deliveries: DeliveryLog
    events: EventBridgePublisher


@functools.cache
def dependencies() -> Dependencies:
    """Settings and clients, made on first use (once per cold start; tests: cache_clear())."""
    settings = WebhookSettings.from_environ()
    return Dependencies(
        settings=settings,
        secrets=SecretReader(boto3.client("secretsmanager", config=CLIENT_CONFIG)),
        deliveries=DeliveryLog(
            boto3.client("dynamodb", config=CLIENT_CONFIG), settings.ledger_table_name, current_clock()
        ),
        events=EventBridgePublisher(
            boto3.client("events", config=CLIENT_CONFIG), settings.event_bus_name, source=EVENT_SOURCE
        ),
    )


@dataclass(frozen=True)
class Reply:
    status: int
    message: str
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def as_function_url_response(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": {"content-type": "application/json", **self.headers},
            "body": json.dumps({"message": self.message, **self.fields}),
        }


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reply = receive(event)
    log = logger.warning if reply.status in (401, 502, 503) else logger.info
    log("webhook answered", extra={"status_code": reply.status, "outcome": reply.message})
    return reply.as_function_url_response()


def receive(event: Mapping[str, Any]) -> Reply:
    """Answer one function URL request (the body and the secret are never logged)."""
    method = str(event.get("requestContext", {}).get("http", {}).get("method", ""))
    if method.upper() != "POST":
        return Reply(405, "method not allowed: GitHub webhooks are POSTed", headers={"allow": "POST"})
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    delivery_id = headers.get("x-github-delivery", "").strip()
    github_event = headers.get("x-github-event", "").strip()
    logger.set_correlation_id(delivery_id or None)
    logger.append_keys(github_event=github_event)

    signature = headers.get("x-hub-signature-256")
    if not signature:
        return Reply(401, "invalid signature")  # without reading the secret: nothing to check
    try:
        body = _raw_body(event)
    except ValueError:
        return Reply(401, "invalid signature")  # a body that is not base64 is not what GitHub signed
    deps = dependencies()
    try:
        secret = deps.secrets.get(deps.settings.webhook_secret_arn)
    except RollgateError:
        logger.exception("could not read the webhook secret")
        return Reply(503, "cannot verify signatures right now; redeliver the webhook later")
    if not verify_signature(secret, body, signature):
        return Reply(401, "invalid signature")

    if github_event == "ping":
        return Reply(200, "pong")
    if github_event != "push":
        return Reply(202, f"ignored: {github_event or 'unnamed'} events do not start releases")
    if not delivery_id:
        return Reply(400, "the X-GitHub-Delivery header is missing")
    return _accept_push(body, headers.get("content-type", ""), delivery_id, deps)


def _accept_push(body: bytes, content_type: str, delivery_id: str, deps: Dependencies) -> Reply:
    try:
        payload = _payload(body, content_type)
        push = BranchPush.from_github(payload, delivery_id)
        if push is None:
            return Reply(202, f"ignored: {ignore_reason(payload)}")
    except InvalidRequest as error:
        return Reply(400, f"invalid push payload: {error}")
    logger.append_keys(repository=push.repository, branch=push.branch, commit=push.commit)
    patterns = deps.settings.release_branches
    if not is_release_branch(push.branch, patterns):
        return Reply(202, f"ignored: branch {push.branch} matches no release branch pattern ({', '.join(patterns)})")

    try:
        claimed = deps.deliveries.claim(delivery_id)
    except RollgateError:
        logger.exception("could not record the delivery")
        return Reply(503, "could not record the delivery; redeliver the webhook later")
    if not claimed:
        return Reply(200, f"duplicate delivery {delivery_id}; already accepted")

    try:
        deps.events.publish(DETAIL_TYPE, push.to_detail())
    except Exception:  # whatever it was, the claim must go or GitHub's redelivery would be dropped
        logger.exception("could not put the release event on the bus")
        _release_claim(deps, delivery_id)
        return Reply(502, "could not put the release event on the bus; redeliver the webhook to retry")
    return Reply(
        202,
        "release requested",
        fields={"repository": push.repository, "branch": push.branch, "commit": push.commit},
    )


def _release_claim(deps: Dependencies, delivery_id: str) -> None:
    try:
        deps.deliveries.release(delivery_id)
    except RollgateError:
        # The claim expires with its TTL; until then a redelivery is answered as a duplicate.
        logger.exception("could not release the delivery claim; a redelivery will be taken for a duplicate")


def _raw_body(event: Mapping[str, Any]) -> bytes:
    """The request body as GitHub sent it (the signature covers these exact bytes). ValueError
    when a base64-encoded body is not base64."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise ValueError("body is not valid base64") from error
    return str(body).encode("utf-8")


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The JSON payload of either content type a GitHub webhook can be set to."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("body: not UTF-8 text") from None
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = parse_qs(text)
        if "payload" not in form:
            raise InvalidRequest("payload: required form field is missing")
        text = form["payload"][0]
    payload = load_json(text, "body", max_bytes=None)  # InvalidRequest for deep JSON, NaN, lone surrogates
    if not isinstance(payload, dict):
        raise InvalidRequest("body: expected a JSON object")
    return payload
