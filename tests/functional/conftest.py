"""Fixtures for functional tests: AWS is moto, in process; nothing leaves the machine."""

from __future__ import annotations

import io
import textwrap
import zipfile
from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from rollgate.aws.settings import load_settings

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_HANDLER_CODE = """
def handler(event, context):
    return {"ok": True, "event": event}
"""


def zip_of(code: str, filename: str = "index.py") -> bytes:
    """A deployment package holding one Python module (fixed timestamps: the same code, the same zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(filename, date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, textwrap.dedent(code))
    return buffer.getvalue()


@pytest.fixture
def make_zip() -> Callable[..., bytes]:
    """zip_of as a fixture (test modules cannot import conftest under --import-mode=importlib)."""
    return zip_of


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, and every boto3 call inside the test served by moto.
    Lambda invokes run moto's docker-free backend (it echoes the payload back)."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


@pytest.fixture
def lambda_client(aws: None):
    return boto3.client("lambda", region_name=REGION)


@pytest.fixture
def s3_client(aws: None):
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def sqs_client(aws: None):
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture
def cloudwatch_client(aws: None):
    return boto3.client("cloudwatch", region_name=REGION)


@pytest.fixture
def events_client(aws: None):
    return boto3.client("events", region_name=REGION)


@pytest.fixture
def dynamodb_client(aws: None):
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def ledger_table(dynamodb_client) -> str:
    """The ledger table exactly as the CDK Ledger construct defines it; returns its name."""
    name = "rollgate-ledger"
    dynamodb_client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_function",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb_client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    return name


@pytest.fixture
def artifact_bucket(s3_client) -> str:
    """A versioned artifact bucket; returns its name."""
    name = "rollgate-artifacts-test"
    s3_client.create_bucket(Bucket=name)
    s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def event_bus(events_client) -> str:
    """The Rollgate bus; returns its name."""
    name = "rollgate-test-bus"
    events_client.create_event_bus(Name=name)
    return name


@pytest.fixture
def lambda_role(aws: None) -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(
        RoleName="rollgate-test-function-role",
        AssumeRolePolicyDocument=(
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
            '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        ),
    )
    return str(role["Role"]["Arn"])


@pytest.fixture
def make_function(lambda_client, lambda_role: str) -> Callable[..., str]:
    """Factory: make_function(code=..., name=..., environment=..., publish=...) creates a zip
    python3.12 function whose module `index` holds `code` (handler `index.handler`); returns its name."""
    counter = iter(range(1, 1_000_000))

    def make(
        code: str = DEFAULT_HANDLER_CODE,
        *,
        name: str | None = None,
        handler: str = "index.handler",
        environment: dict[str, str] | None = None,
        publish: bool = False,
    ) -> str:
        function_name = name or f"rollgate-test-fn-{next(counter)}"
        lambda_client.create_function(
            FunctionName=function_name,
            Runtime="python3.12",
            Role=lambda_role,
            Handler=handler,
            Code={"ZipFile": zip_of(code)},
            Environment={"Variables": dict(environment or {})},
            Publish=publish,
        )
        return function_name

    return make


@pytest.fixture
def rollgate_env(
    monkeypatch: pytest.MonkeyPatch, ledger_table: str, event_bus: str, artifact_bucket: str
) -> Iterator[dict[str, str]]:
    """The environment a task Lambda runs with (ledger, bus, artifact bucket), with the settings
    cache cleared before and after; yields the variables."""
    variables = {
        "LEDGER_TABLE_NAME": ledger_table,
        "EVENT_BUS_NAME": event_bus,
        "ARTIFACT_BUCKET_NAME": artifact_bucket,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    for name in (
        "ROLLGATE_LEASE_SECONDS",
        "ROLLGATE_CLOCK_SPEED",
        "ROLLGATE_CLOCK_REAL_ORIGIN",
        "ROLLGATE_CLOCK_VIRTUAL_ORIGIN",
    ):
        monkeypatch.delenv(name, raising=False)
    load_settings.cache_clear()
    yield variables
    load_settings.cache_clear()
