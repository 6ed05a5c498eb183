"""Read helpers: plain records out of moto's Lambda and ECR backends (no moto objects leak out).

read_target(account, region, function_name, qualifier) -> Target
read_version(account, region, function_name, version) -> FunctionRecord
list_stream_mappings(account, region) -> list[StreamMappingRecord]
read_image(account, region, repository, digest) -> ImageRecord   an ECR image's manifest and the
    blobs pushed for it (27); LookupError when the repository has no such image
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rollgate_local.bridge.contract import LambdaServiceError
from rollgate_local.bridge.core import _BLOBS_ATTR, _DLQ_ATTR, _LOGGING_ATTR


@dataclass(frozen=True)
class FunctionRecord:
    account: str
    region: str
    name: str
    version: str  # "$LATEST" or "1", "2", ...
    arn: str  # unqualified
    handler: str
    runtime: str | None
    timeout: int
    memory_size: int
    role: str
    environment: dict[str, str]
    code_sha256: str
    code_bytes: bytes = field(repr=False)
    dead_letter_arn: str | None
    reserved_concurrency: int | None
    package_type: str
    image_uri: str | None = None  # an image function's ImageUri (this version's)
    image_command: tuple[str, ...] = ()  # ImageConfig.Command: overrides the image's CMD
    log_format: str = "Text"  # LoggingConfig.LogFormat: Text | JSON (30)
    log_group: str = ""  # LoggingConfig.LogGroup; /aws/lambda/NAME unless the function names one
    application_log_level: str | None = None  # LoggingConfig (JSON format only)
    system_log_level: str | None = None

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.version}"


@dataclass(frozen=True)
class AliasRecord:
    name: str
    arn: str
    function_version: str
    additional_weights: dict[str, float]


@dataclass(frozen=True)
class Target:
    """What an invoke of (function, qualifier) addresses, before any weighted choice."""

    function_name: str
    function_arn: str  # unqualified
    qualifier: str | None  # None for unqualified / $LATEST
    alias: AliasRecord | None
    latest: FunctionRecord


@dataclass(frozen=True)
class StreamMappingRecord:
    uuid: str
    event_source_arn: str
    function_arn: str  # as reported: alias-qualified when mapped to an alias
    enabled: bool
    batch_size: int


def _lambda_backend(account: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account, region)


def _split_name(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    if function_name.startswith("arn:"):
        tail = function_name.split(":function:", 1)[1]
        name, _, arn_qualifier = tail.partition(":")
        return name, arn_qualifier or qualifier
    name, _, name_qualifier = function_name.partition(":")
    return name, name_qualifier or qualifier


def _not_found(message: str) -> LambdaServiceError:
    return LambdaServiceError(404, "ResourceNotFoundException", message)


def _record(fn: Any, dlq: str | None = None) -> FunctionRecord:
    arn = str(fn.function_arn)
    if str(fn.version) != "$LATEST":
        arn = arn.rsplit(":", 1)[0]
    reserved = fn.reserved_concurrency
    return FunctionRecord(
        account=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        version=str(fn.version),
        arn=arn,
        handler=fn.handler or "",
        runtime=fn.run_time,
        timeout=int(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        role=fn.role,
        environment=dict(fn.environment_vars or {}),
        code_sha256=fn.code_sha_256,
        code_bytes=getattr(fn, "code_bytes", b"") or b"",
        dead_letter_arn=dlq if dlq is not None else getattr(fn, _DLQ_ATTR, None),
        reserved_concurrency=None if reserved in (None, "") else int(reserved),
        package_type=fn.package_type,
        image_uri=(fn.code or {}).get("ImageUri") if fn.package_type == "Image" else None,
        image_command=tuple(getattr(getattr(fn, "image_config", None), "cmd", None) or ()),
        **_logging_fields(fn),
    )


def _logging_config(fn: Any) -> dict[str, str]:
    """The function's LoggingConfig as GetFunctionConfiguration reports it (30)."""
    kept = dict(getattr(fn, _LOGGING_ATTR, None) or {})
    config = {"LogFormat": kept.get("LogFormat") or "Text", "LogGroup": kept.get("LogGroup") or ""}
    config["LogGroup"] = config["LogGroup"] or f"/aws/lambda/{fn.function_name}"
    if config["LogFormat"] == "JSON":  # the levels apply to the JSON format only
        config["ApplicationLogLevel"] = kept.get("ApplicationLogLevel") or "INFO"
        config["SystemLogLevel"] = kept.get("SystemLogLevel") or "INFO"
    return config


def _logging_fields(fn: Any) -> dict[str, Any]:
    config = _logging_config(fn)
    return {
        "log_format": config["LogFormat"],
        "log_group": config["LogGroup"],
        "application_log_level": config.get("ApplicationLogLevel"),
        "system_log_level": config.get("SystemLogLevel"),
    }


def read_target(account: str, region: str, function_name: str, qualifier: str | None) -> Target:
    """Resolve what an Invoke addresses. Raises LambdaServiceError 404 like Lambda does."""
    from moto.core.exceptions import JsonRESTError

    backend = _lambda_backend(account, region)
    name, qualifier = _split_name(function_name, qualifier)
    try:
        latest = backend.get_function(name)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: arn:aws:lambda:{region}:{account}:function:{name}") from error
    latest_record = _record(latest)
    if qualifier in (None, "", "$LATEST"):
        return Target(name, latest_record.arn, None, None, latest_record)
    if qualifier.isdigit():
        read_version(account, region, name, qualifier)  # 404 if it does not exist
        return Target(name, latest_record.arn, qualifier, None, latest_record)
    try:
        alias = backend.get_alias(qualifier, name)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: {latest_record.arn}:{qualifier}") from error
    weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    record = AliasRecord(
        name=alias.name,
        arn=alias.arn,
        function_version=str(alias.function_version),
        additional_weights={str(k): float(v) for k, v in weights.items()},
    )
    return Target(name, latest_record.arn, qualifier, record, latest_record)


def read_version(account: str, region: str, function_name: str, version: str) -> FunctionRecord:
    from moto.core.exceptions import JsonRESTError

    backend = _lambda_backend(account, region)
    name, _ = _split_name(function_name, None)
    try:
        fn = backend.get_function(name, None if version == "$LATEST" else version)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: {name}:{version}") from error
    if version != "$LATEST" and str(fn.version) != version:
        raise _not_found(f"Function not found: {name}:{version}")
    return _record(fn)


def list_stream_mappings(account: str, region: str) -> list[StreamMappingRecord]:
    """Event source mappings on Kinesis or DynamoDB streams."""
    backend = _lambda_backend(account, region)
    records = []
    for esm in list(backend.list_event_source_mappings(None, None)):
        if ":kinesis:" not in esm.event_source_arn and ":dynamodb:" not in esm.event_source_arn:
            continue
        records.append(
            StreamMappingRecord(
                uuid=esm.uuid,
                event_source_arn=esm.event_source_arn,
                function_arn=esm.function_arn,
                enabled=bool(esm.enabled),
                batch_size=int(esm.batch_size),
            )
        )
    return records


@dataclass(frozen=True)
class ImageRecord:
    repository: str
    digest: str  # "sha256:<hex>"
    manifest: dict[str, Any]
    blobs: dict[str, bytes] = field(repr=False)  # digest -> bytes, of what was pushed to the repository


def read_image(account: str, region: str, repository: str, digest: str) -> ImageRecord:
    """An ECR image by digest, with the blobs pushed to its repository (27). LookupError if absent."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account][region]
    repo = backend.repositories.get(repository)
    if repo is None:
        raise LookupError(f"repository {repository} does not exist in ECR")
    for image in repo.images:
        if image.get_image_digest() == digest:
            return ImageRecord(
                repository, digest, json.loads(image.image_manifest), dict(getattr(repo, _BLOBS_ATTR, {}))
            )
    raise LookupError(f"image {digest} is not in repository {repository}")
