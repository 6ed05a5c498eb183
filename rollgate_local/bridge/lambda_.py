"""Lambda patches (1-8): invoke through the data plane, update status, RevisionIds, dead-letter
config, event source mappings.

Patches (what AWS does / what moto 5.2.5 does / what we change):

 1. Lambda Invoke (``LambdaBackend.invoke``). AWS runs the handler of the version the qualifier
    resolves to, an alias splitting traffic by its RoutingConfig weights. moto runs code in Docker
    (absent here) and ignores weights. We hand the call to the in-process data plane.
 1b. Invoke's Qualifier (``LambdaResponse.invoke``): AWS takes it from the ?Qualifier= query
    parameter; moto looks for "qualifier" (lower case), finds none (or a "qualifier" key of the
    payload!) and runs $LATEST. We pass the query parameter through.
 2. Event-source and InvokeAsync paths (``LambdaFunction.invoke``): the same, so SQS, Kinesis,
    DynamoDB-stream and SNS deliveries never try Docker either.
 3. Function configuration (``LambdaFunction.get_configuration``). AWS reports LastUpdateStatus
    InProgress for a while after UpdateFunctionCode/UpdateFunctionConfiguration (then Successful or
    Failed with LastUpdateStatusReason), a RevisionId and the DeadLetterConfig. moto always says
    Successful and stores neither RevisionId nor DeadLetterConfig. We report what the data plane's
    update tracker says, a RevisionId that changes on every change, and the DeadLetterConfig.
    State stays Active during an update, as on AWS.
 4. DeadLetterConfig storage (``LambdaFunction.__init__``, ``LambdaFunction.update_configuration``):
    moto drops it; we keep it on the function (versions copy it when published).
 5. Updates (``LambdaBackend.update_function_code`` / ``update_function_configuration``). AWS
    refuses an update while one is in progress (ResourceConflictException) and checks RevisionId
    (PreconditionFailedException). moto does neither. We do both, then tell the data plane so it
    reports InProgress for its update time.
 6. PublishVersion (``LambdaBackend.publish_version``, ``LambdaResponse.publish_version``). AWS
    refuses while an update is in progress (ResourceConflictException), and honours the CodeSha256
    (InvalidParameterValueException) and RevisionId (PreconditionFailedException) guards. moto
    ignores all three. We add them.
 7. Alias RevisionId (``LambdaAlias.update``, ``LambdaResponse.update_alias``). AWS changes an
    alias's RevisionId on every update and checks the one given. moto keeps one forever and ignores
    it. We rotate and check.
 8. Event source mappings (``LambdaBackend.create_event_source_mapping``). AWS reports the
    FunctionArn as given (alias-qualified for a mapping on an alias); moto reports the ARN of the
    version the alias pointed at on creation. We keep the qualifier.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from rollgate_local.bridge.contract import InvokeRequest, LambdaServiceError
from rollgate_local.bridge.core import (
    _DLQ_ATTR,
    _LOGGING_ATTR,
    _REVISION_ATTR,
    _as_bytes,
    _catch_up,
    _dp,
    _header,
    _local,
    _patch,
    _rest_error,
    _state,
)
from rollgate_local.bridge.iam import _ACTION_OF_METHOD, _authorize
from rollgate_local.bridge.reads import _logging_config, _split_name


def _revision(fn: Any) -> str:
    revision = getattr(fn, _REVISION_ATTR, None)
    if revision is None:
        revision = str(uuid.uuid4())
        setattr(fn, _REVISION_ATTR, revision)
    return revision


def _rotate_revision(fn: Any) -> None:
    setattr(fn, _REVISION_ATTR, str(uuid.uuid4()))


def _update_in_progress(fn: Any) -> bool:
    status = _dp().update_status(fn.account_id, fn.region, fn.function_name)
    return status is not None and status.status == "InProgress"


def _raise_if_updating(fn: Any) -> None:
    if _update_in_progress(fn):
        arn = str(fn.function_arn)
        raise _rest_error(
            LambdaServiceError(
                409,
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource: {arn}",
            )
        )


def _raise_revision_mismatch() -> None:
    from moto.awslambda.exceptions import PreconditionFailedException

    raise PreconditionFailedException(
        "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    )


def install() -> None:  # noqa: C901  # one closure per patch (each small), sharing the originals they wrap
    from moto.awslambda import models, responses

    # 1. Invoke -> data plane (alias weights, in-process handler, metrics).
    def backend_invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: dict[str, str]
    ) -> bytes:
        from_query = getattr(_local, "invoke_qualifier", None)
        if from_query is not None:  # the request came through LambdaResponse.invoke (1b)
            qualifier = from_query[0]
            _local.invoke_qualifier = None  # consumed: nested invokes bring their own
        request = InvokeRequest(
            account=self.account_id,
            region=self.region_name,
            function_name=unquote(function_name),
            qualifier=qualifier or None,
            payload=_as_bytes(body),
            invocation_type=_header(headers, "X-Amz-Invocation-Type") or "RequestResponse",
            log_type=_header(headers, "X-Amz-Log-Type"),
            client_context=_header(headers, "X-Amz-Client-Context"),
        )
        try:
            result = _dp().handle_invoke(request)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        if result.executed_version:
            response_headers["x-amz-executed-version"] = result.executed_version
        if result.log_result:
            response_headers["x-amz-log-result"] = result.log_result
        response_headers["Content-Length"] = str(len(result.payload))
        return result.payload

    _patch(models.LambdaBackend, "invoke", backend_invoke)

    # 1b. Invoke takes its Qualifier from the query string.
    original_invoke_response = responses.LambdaResponse.invoke

    def invoke_response(self: Any) -> Any:
        previous = getattr(_local, "invoke_qualifier", None)
        _local.invoke_qualifier = ((self.querystring.get("Qualifier") or [None])[0],)
        try:
            return original_invoke_response(self)
        finally:
            _local.invoke_qualifier = previous

    _patch(responses.LambdaResponse, "invoke", invoke_response)

    # 2. Event-source deliveries and InvokeAsync call the function object directly.
    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        version = str(self.version)
        request = InvokeRequest(
            account=self.account_id,
            region=self.region,
            function_name=self.function_name,
            qualifier=None if version == "$LATEST" else version,
            payload=_as_bytes(body),
            invocation_type=_header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse",
        )
        try:
            result = _dp().handle_invoke(request)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        return result.payload

    _patch(models.LambdaFunction, "invoke", function_invoke)

    # 3. Configuration: LastUpdateStatus from the data plane, RevisionId, DeadLetterConfig.
    original_get_configuration = models.LambdaFunction.get_configuration

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original_get_configuration(self, on_create)
        config["RevisionId"] = _revision(self)
        dlq = getattr(self, _DLQ_ATTR, None)
        if dlq:
            config["DeadLetterConfig"] = {"TargetArn": dlq}
        config["LoggingConfig"] = _logging_config(self)  # 30
        if str(self.version) == "$LATEST" and not on_create and _state.data_plane is not None:
            status = _state.data_plane.update_status(self.account_id, self.region, self.function_name)
            if status is not None:
                config["LastUpdateStatus"] = status.status
                if status.reason:
                    config["LastUpdateStatusReason"] = status.reason
                if status.reason_code:
                    config["LastUpdateStatusReasonCode"] = status.reason_code
        return config

    _patch(models.LambdaFunction, "get_configuration", get_configuration)

    # 4. DeadLetterConfig storage.
    original_init = models.LambdaFunction.__init__

    def function_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        original_init(self, account_id, spec, region, version)
        setattr(self, _DLQ_ATTR, (spec.get("DeadLetterConfig") or {}).get("TargetArn") or None)
        setattr(self, _LOGGING_ATTR, dict(spec.get("LoggingConfig") or {}))  # 30

    _patch(models.LambdaFunction, "__init__", function_init)

    original_update_configuration = models.LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            setattr(self, _DLQ_ATTR, (config_updates["DeadLetterConfig"] or {}).get("TargetArn") or None)
        if "LoggingConfig" in config_updates:  # 30: fields not given are kept, as on AWS
            kept = dict(getattr(self, _LOGGING_ATTR, None) or {})
            setattr(self, _LOGGING_ATTR, {**kept, **(config_updates["LoggingConfig"] or {})})
        return original_update_configuration(self, config_updates)

    _patch(models.LambdaFunction, "update_configuration", update_configuration)

    # 5. Updates: conflict while InProgress, RevisionId guard, then InProgress for a while.
    def guarded_update(original: Callable[..., Any]) -> Callable[..., Any]:
        def update(self: Any, function_name: str, qualifier: str | None, body: dict[str, Any]) -> Any:
            fn = self.get_function(function_name, qualifier)
            _authorize(self, _ACTION_OF_METHOD[original.__name__], function_name)  # 24
            _raise_if_updating(fn)
            if body.get("RevisionId") and body["RevisionId"] != _revision(fn):
                _raise_revision_mismatch()
            result = original(self, function_name, qualifier, body)
            if body.get("DryRun"):
                return result
            _rotate_revision(fn)
            _dp().function_updated(fn.account_id, fn.region, fn.function_name)
            return result if body.get("Publish") else fn.get_configuration()

        return update

    _patch(models.LambdaBackend, "update_function_code", guarded_update(models.LambdaBackend.update_function_code))
    _patch(
        models.LambdaBackend,
        "update_function_configuration",
        guarded_update(models.LambdaBackend.update_function_configuration),
    )

    # 6. PublishVersion guards.
    original_publish = models.LambdaBackend.publish_version

    def publish_version(self: Any, function_name: str, description: str = "") -> Any:
        latest = self.get_function(function_name)
        _authorize(self, "lambda:PublishVersion", function_name)  # 24
        _raise_if_updating(latest)
        version = original_publish(self, function_name, description)
        if version is not None and getattr(version, _REVISION_ATTR, None) == getattr(latest, _REVISION_ATTR, None):
            _rotate_revision(version)
        if version is not None and version is not latest and version.code is latest.code:
            version.code = dict(latest.code)  # 28: a later update of $LATEST must not change this version
        return version

    _patch(models.LambdaBackend, "publish_version", publish_version)

    original_publish_response = responses.LambdaResponse.publish_version

    def publish_version_response(self: Any) -> Any:
        function_name = unquote(self.path.split("/")[-2])
        params = json.loads(self.body) if self.body else {}
        latest = self.backend.get_function(function_name)
        wanted_sha = params.get("CodeSha256")
        if wanted_sha and wanted_sha != latest.code_sha_256:
            from moto.awslambda.exceptions import InvalidParameterValueException

            raise InvalidParameterValueException(
                f"CodeSHA256 ({wanted_sha}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST."
            )
        if params.get("RevisionId") and params["RevisionId"] != _revision(latest):
            _raise_revision_mismatch()
        return original_publish_response(self)

    _patch(responses.LambdaResponse, "publish_version", publish_version_response)

    # 7. Alias RevisionId.
    original_alias_update = models.LambdaAlias.update

    def alias_update(self: Any, description: str | None, function_version: str | None, routing_config: Any) -> None:
        original_alias_update(self, description, function_version, routing_config)
        self.revision_id = str(uuid.uuid4())

    _patch(models.LambdaAlias, "update", alias_update)

    original_update_alias_response = responses.LambdaResponse.update_alias

    def update_alias_response(self: Any) -> Any:
        function_name = unquote(self.path.rsplit("/")[-3])
        alias_name = unquote(self.path.rsplit("/", 2)[-1])
        params = json.loads(self.body) if self.body else {}
        if params.get("RevisionId"):
            alias = self.backend.get_alias(name=alias_name, function_name=function_name)
            if params["RevisionId"] != alias.revision_id:
                _raise_revision_mismatch()
        _catch_up()  # traffic due before the change is routed by the weights it was due under
        return original_update_alias_response(self)

    _patch(responses.LambdaResponse, "update_alias", update_alias_response)

    # 8. Event source mappings keep the alias qualifier in FunctionArn.
    original_create_esm = models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        name, qualifier = _split_name(str(spec.get("FunctionName", "")), None)
        esm = original_create_esm(self, spec)
        if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
            esm.function_arn = f"{self.get_function(name).function_arn}:{qualifier}"
        return esm

    _patch(models.LambdaBackend, "create_event_source_mapping", create_event_source_mapping)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models.LambdaBackend.invoke": (
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ),
    "moto.awslambda.responses.LambdaResponse.invoke": ("self",),
    "moto.awslambda.models.LambdaFunction.invoke": ("self", "body", "request_headers", "response_headers"),
    "moto.awslambda.models.LambdaFunction.get_configuration": ("self", "on_create"),
    "moto.awslambda.models.LambdaFunction.__init__": ("self", "account_id", "spec", "region", "version"),
    "moto.awslambda.models.LambdaFunction.update_configuration": ("self", "config_updates"),
    "moto.awslambda.models.LambdaBackend.update_function_code": ("self", "function_name", "qualifier", "body"),
    "moto.awslambda.models.LambdaBackend.update_function_configuration": ("self", "function_name", "qualifier", "body"),
    "moto.awslambda.models.LambdaBackend.publish_version": ("self", "function_name", "description"),
    "moto.awslambda.responses.LambdaResponse.publish_version": ("self",),
    "moto.awslambda.models.LambdaAlias.update": ("self", "description", "function_version", "routing_config"),
    "moto.awslambda.responses.LambdaResponse.update_alias": ("self",),
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping": ("self", "spec"),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.awslambda.models.LambdaBackend.invoke":
        "708fb4c92029f2dc29aa3f3f1826f7552de95ad6bfd1fa3fda9eda0f97ce4d61",
    "moto.awslambda.responses.LambdaResponse.invoke":
        "8f68f0bf023a3eb476e13ab0f688e6fbde8462c194532e8ce67421dbeb91c44b",
    "moto.awslambda.models.LambdaFunction.invoke":
        "dadc324f30aed38bf9dde5a93000c195ed3e5fb5e984f71ebd4c6629fc89aa2e",
    "moto.awslambda.models.LambdaFunction.get_configuration":
        "803fb04bffde71d97d974007c506f6dabaf64242efdf47b05502890335eb5be2",
    "moto.awslambda.models.LambdaFunction.__init__":
        "70a285222b4a0e116bf028325b1e929bd4a8de6615b9a14c0acb3376af6609a4",
    "moto.awslambda.models.LambdaFunction.update_configuration":
        "eca1cdec066f996f69a7c2045cb3ae7608a15275f6fb75fc44e1c5a362f37096",
    "moto.awslambda.models.LambdaBackend.update_function_code":
        "da42535db0cfddda6180b9f2891dc965f4d88a02dc1761bc3f6d0a45422af8b1",
    "moto.awslambda.models.LambdaBackend.update_function_configuration":
        "b11ed261c9acd60e195b98f8c9307d95bacd5252dfba134a3e756322b907936b",
    "moto.awslambda.models.LambdaBackend.publish_version":
        "d1aa1e465bb61c37fbb7f8571a2c4d8028d91a4f36325023f04997e578134d65",
    "moto.awslambda.responses.LambdaResponse.publish_version":
        "c2a60dd2c34610f1e857f5363aaa8bb5837c90b002f38a4f30beb991ce86ce4b",
    "moto.awslambda.models.LambdaAlias.update":
        "03fcbe801895941dff7f95c76b4c5290e34d0986dd2002158dade029c1c1075c",
    "moto.awslambda.responses.LambdaResponse.update_alias":
        "385d65fb37eef5de776bc57166b856361f4e64549e911dd5eb1088d258d29bd1",
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping":
        "19f8125cabf7d67b294269f6db0c16bc46ebb7e496a9a259894c30546839fe9e",
}
# fmt: on
