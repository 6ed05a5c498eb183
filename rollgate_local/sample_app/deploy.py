"""Deploy orders-api (v1, live) into the local runtime, and upload builds as artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from rollgate_local import images
from rollgate_local.sample_app.builds import build_zip, code_sha256, image_files

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


class _Session(Protocol):
    def client(self, service: str) -> Any: ...


@dataclass(frozen=True)
class SampleApp:
    function_name: str
    function_arn: str
    alias: str
    alias_arn: str
    live_version: str
    role_arn: str
    dlq_url: str
    dlq_arn: str
    stream_name: str | None
    stream_arn: str | None
    event_source_mapping_uuid: str | None
    code_sha256: str


@dataclass(frozen=True)
class Artifact:
    build: str
    bucket: str
    key: str
    version_id: str | None
    code_sha256: str


def create_sample_app(
    runtime_session: _Session,
    function_name: str = "orders-api",
    alias: str = "live",
    stream_name: str | None = "orders-events",
    *,
    build: str = "v1",
    image: bool = False,
) -> SampleApp:
    """orders-api `build` behind alias `alias` -> version 1, with a DLQ, the rollgate:managed tag
    and a Kinesis stream consumer on the alias (stream_name=None: no stream); image=True: as an
    image function (its image in the local ECR, in a repository named after the function)."""
    iam = runtime_session.client("iam")
    sqs = runtime_session.client("sqs")
    lambda_ = runtime_session.client("lambda")

    role_name = f"{function_name}-role"
    try:
        role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]

    dlq_url = sqs.create_queue(QueueName=f"{function_name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    code = build_zip(build)
    package: dict[str, Any] = {"Runtime": "python3.12", "Handler": "app.handler", "Code": {"ZipFile": code}}
    if image:
        image_uri = push_build_image(runtime_session, function_name, build)
        package = {"PackageType": "Image", "Code": {"ImageUri": image_uri}}
    function = lambda_.create_function(
        FunctionName=function_name,
        Role=role_arn,
        **package,
        Description="orders-api",
        Timeout=10,
        MemorySize=256,
        DeadLetterConfig={"TargetArn": dlq_arn},
        Environment={"Variables": {"ORDERS_TABLE": "orders", "LOG_LEVEL": "INFO"}},
        Tags={"rollgate:managed": "true"},
    )
    version = lambda_.publish_version(FunctionName=function_name, Description=build)["Version"]
    alias_arn = lambda_.create_alias(FunctionName=function_name, Name=alias, FunctionVersion=version)["AliasArn"]

    stream_arn = mapping_uuid = None
    if stream_name:
        kinesis = runtime_session.client("kinesis")
        kinesis.create_stream(StreamName=stream_name, ShardCount=1)
        stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamARN"]
        mapping_uuid = lambda_.create_event_source_mapping(
            EventSourceArn=stream_arn, FunctionName=f"{function_name}:{alias}", StartingPosition="LATEST", BatchSize=100
        )["UUID"]

    return SampleApp(
        function_name=function_name,
        function_arn=function["FunctionArn"],
        alias=alias,
        alias_arn=alias_arn,
        live_version=version,
        role_arn=role_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        stream_name=stream_name,
        stream_arn=stream_arn,
        event_source_mapping_uuid=mapping_uuid,
        code_sha256=function["CodeSha256"] if image else code_sha256(code),
    )


def push_build_image(runtime_session: _Session, repository: str, build: str) -> str:
    """`build` as a container image in the local ECR (created if missing); its URI by digest."""
    return images.push_image(runtime_session, repository, image_files(build), cmd="app.handler")


def upload_build(
    runtime_session: _Session, bucket: str, build: str, key: str | None = None, function_name: str = "orders-api"
) -> Artifact:
    """Put `build`'s zip into `bucket` (the artifacts bucket) and return where it is."""
    body = build_zip(build)
    key = key or f"{function_name}/{build}.zip"
    answer = runtime_session.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
    return Artifact(
        build=build, bucket=bucket, key=key, version_id=answer.get("VersionId"), code_sha256=code_sha256(body)
    )
