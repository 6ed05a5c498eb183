"""ports.LambdaApi over a boto3 Lambda client.

Revision ids guard every write: a stale one fails with PreconditionFailedException, which
translates to ConflictError and is retried by the state machine after the task re-reads the state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.aws.settings import DEFAULT_MANAGED_FUNCTION_TAG
from rollgate.domain.shared.errors import (
    ConcurrencyNotReady,
    HookFailed,
    InvalidRequest,
    NotFoundError,
    TransientAwsError,
)
from rollgate.domain.shared.ports import (
    AliasRouting,
    EventSourceMapping,
    FunctionConfig,
    Invocation,
    ProvisionedConcurrencyConfig,
)


def bare_function_name(name_or_arn: str) -> str:
    """`orders`, `orders:live`, `arn:aws:lambda:…:function:orders[:live]` -> `orders`."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else name_or_arn
    return name_or_arn.split(":", 1)[0]


def qualifier_of(function_arn: str) -> str | None:
    """The version or alias a qualified function ARN names (None when unqualified)."""
    parts = function_arn.split(":")
    return parts[7] if len(parts) > 7 else None


def function_config_from(response: dict[str, Any], image_uri: str | None = None) -> FunctionConfig:
    """A FunctionConfig from a GetFunctionConfiguration-shaped response (also what UpdateFunctionCode,
    UpdateFunctionConfiguration, PublishVersion and ListVersionsByFunction return)."""
    return FunctionConfig(
        name=response["FunctionName"],
        arn=response["FunctionArn"],
        version=str(response.get("Version", "$LATEST")),
        code_sha256=response.get("CodeSha256", ""),
        # moto returns no RevisionId for functions; AWS always does
        revision_id=response.get("RevisionId") or "",
        state=response.get("State") or "Active",
        # AWS reports LastUpdateStatus on every function; moto omits it on a fresh function, which
        # has nothing in progress
        last_update_status=response.get("LastUpdateStatus") or "Successful",
        last_update_reason=response.get("LastUpdateStatusReason"),
        role=response.get("Role", ""),
        environment=dict((response.get("Environment") or {}).get("Variables") or {}),
        dead_letter_target_arn=(response.get("DeadLetterConfig") or {}).get("TargetArn"),
        package_type=response.get("PackageType") or "Zip",
        image_uri=image_uri,
        memory_size=response.get("MemorySize"),
        timeout=response.get("Timeout"),
        ephemeral_storage=(response.get("EphemeralStorage") or {}).get("Size"),
        layers=tuple(layer["Arn"] for layer in response.get("Layers") or [] if layer.get("Arn")),
        architectures=tuple(response.get("Architectures") or ("x86_64",)),
        runtime=response.get("Runtime"),
        handler=response.get("Handler"),
    )


#: FunctionConfiguration field -> UpdateFunctionConfiguration parameter (architectures go with the code)
_SETTING_PARAMETERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "memory_size": ("MemorySize", lambda value: value),
    "timeout": ("Timeout", lambda value: value),
    "ephemeral_storage": ("EphemeralStorage", lambda value: {"Size": value}),
    "layers": ("Layers", list),
    "runtime": ("Runtime", lambda value: value),
    "handler": ("Handler", lambda value: value),
}


def configuration_parameters(settings: dict[str, Any]) -> dict[str, Any]:
    """UpdateFunctionConfiguration keyword arguments for FunctionConfiguration `settings`."""
    unknown = set(settings) - set(_SETTING_PARAMETERS)
    if unknown:
        raise InvalidRequest(
            f"configuration: {', '.join(sorted(unknown))} cannot be set by UpdateFunctionConfiguration"
        )
    return {_SETTING_PARAMETERS[name][0]: _SETTING_PARAMETERS[name][1](value) for name, value in settings.items()}


def provisioned_concurrency_from(qualifier: str, response: dict[str, Any]) -> ProvisionedConcurrencyConfig:
    return ProvisionedConcurrencyConfig(
        qualifier=qualifier,
        requested=int(response.get("RequestedProvisionedConcurrentExecutions") or 0),
        allocated=int(response.get("AllocatedProvisionedConcurrentExecutions") or 0),
        available=int(response.get("AvailableProvisionedConcurrentExecutions") or 0),
        status=str(response.get("Status") or "IN_PROGRESS"),
        reason=response.get("StatusReason"),
    )


def alias_routing_from(response: dict[str, Any]) -> AliasRouting:
    weights = ((response.get("RoutingConfig") or {}).get("AdditionalVersionWeights")) or {}
    return AliasRouting(
        name=response["Name"],
        version=str(response["FunctionVersion"]),
        additional_weights={str(version): float(weight) for version, weight in weights.items()},
        revision_id=response.get("RevisionId") or "",
    )


def _revision(revision_id: str) -> dict[str, str]:
    # An empty revision id only comes from moto (which has none); AWS always gives one.
    return {"RevisionId": revision_id} if revision_id else {}


def _not_implemented_by_moto(error: ClientError) -> bool:
    """moto answers calls it lacks with "404 Not yet implemented"; AWS never does."""
    return "not yet implemented" in str(error.response.get("Error", {}).get("Message", "")).lower()


def _decode_payload(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Boto3LambdaApi:
    """ports.LambdaApi (and preflight's InvokerProbe) over `boto3.client("lambda")`.

    `managed_function_tag` is the tag key whose value "true" marks a function Rollgate may change
    (the tasks pass the key their stack was synthesized with).
    """

    def __init__(self, client: Any, managed_function_tag: str = DEFAULT_MANAGED_FUNCTION_TAG) -> None:
        self._client = client
        self._managed_function_tag = managed_function_tag

    # ----------------------------------------------------------------------- reads
    def get_config(self, function_name: str, qualifier: str | None = None) -> FunctionConfig:
        target = f"{function_name}:{qualifier}" if qualifier else function_name
        kwargs: dict[str, Any] = {"FunctionName": function_name}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        with translate_client_errors(f"lambda:GetFunctionConfiguration {target}"):
            response = self._client.get_function_configuration(**kwargs)
            image_uri = None
            if response.get("PackageType") == "Image":
                # only GetFunction tells which image (by digest) a function runs
                code = self._client.get_function(**kwargs).get("Code") or {}
                image_uri = code.get("ResolvedImageUri") or code.get("ImageUri")
        return function_config_from(response, image_uri)

    def get_alias(self, function_name: str, alias: str) -> AliasRouting:
        with translate_client_errors(f"lambda:GetAlias {function_name}:{alias}"):
            response = self._client.get_alias(FunctionName=function_name, Name=alias)
        return alias_routing_from(response)

    def list_versions(self, function_name: str) -> list[FunctionConfig]:
        """Published versions, oldest first ($LATEST excluded)."""
        versions: list[FunctionConfig] = []
        with translate_client_errors(f"lambda:ListVersionsByFunction {function_name}"):
            paginator = self._client.get_paginator("list_versions_by_function")
            for page in paginator.paginate(FunctionName=function_name):
                versions.extend(
                    function_config_from(item) for item in page.get("Versions", []) if item.get("Version") != "$LATEST"
                )
        return sorted(versions, key=lambda config: int(config.version))

    def list_event_source_mappings(self, function_name: str) -> list[EventSourceMapping]:
        """Every mapping that invokes this function, whatever it is qualified with.

        Lists the account's mappings and keeps those whose FunctionArn names this function: a
        FunctionName filter matches the mapping's function reference as written, so mappings on
        an alias or a version can be missed by an unqualified filter (moto behaves so), and the
        preflight must see the ones that do NOT point at the alias.
        """
        wanted = bare_function_name(function_name)
        mappings: list[EventSourceMapping] = []
        with translate_client_errors(f"lambda:ListEventSourceMappings {function_name}"):
            paginator = self._client.get_paginator("list_event_source_mappings")
            for page in paginator.paginate():
                for item in page.get("EventSourceMappings", []):
                    function_arn = item.get("FunctionArn", "")
                    if bare_function_name(function_arn) != wanted:
                        continue
                    mappings.append(
                        EventSourceMapping(
                            uuid=item["UUID"],
                            source_arn=item.get("EventSourceArn", ""),
                            function_arn=function_arn,
                            state=item.get("State", ""),
                        )
                    )
        return mappings

    def provisioned_concurrency_versions(self, function_name: str) -> list[str]:
        """Versions and aliases of the function that have provisioned concurrency configured."""
        qualifiers: list[str] = []
        with translate_client_errors(f"lambda:ListProvisionedConcurrencyConfigs {function_name}"):
            paginator = self._client.get_paginator("list_provisioned_concurrency_configs")
            try:
                for page in paginator.paginate(FunctionName=function_name):
                    for item in page.get("ProvisionedConcurrencyConfigs", []):
                        qualifier = qualifier_of(item.get("FunctionArn", ""))
                        if qualifier:
                            qualifiers.append(qualifier)
            except NotImplementedError:
                return []
            except ClientError as error:
                # no provisioned concurrency can exist where the call is not implemented
                if _not_implemented_by_moto(error):
                    return []
                raise
        return qualifiers

    # ----------------------------------------------------------------------- who else invokes it
    def resource_policy(self, function_name: str) -> list[dict[str, Any]]:
        """The statements of the unqualified function's resource-based policy: the grants that let
        a caller invoke the function (i.e. $LATEST) rather than the alias. [] when it has none."""
        try:
            with translate_client_errors(f"lambda:GetPolicy {function_name}"):
                response = self._client.get_policy(FunctionName=function_name)
        except NotFoundError:  # ResourceNotFoundException: the function has no policy
            return []
        statements = json.loads(response.get("Policy") or "{}").get("Statement", [])
        return list(statements) if isinstance(statements, list) else [statements]

    def function_url_qualifiers(self, function_name: str) -> list[str | None]:
        """The qualifier of each function URL config (None: the URL invokes the unqualified function)."""
        qualifiers: list[str | None] = []
        with translate_client_errors(f"lambda:ListFunctionUrlConfigs {function_name}"):
            paginator = self._client.get_paginator("list_function_url_configs")
            try:
                for page in paginator.paginate(FunctionName=function_name):
                    qualifiers.extend(
                        qualifier_of(item.get("FunctionArn", "")) for item in page.get("FunctionUrlConfigs", [])
                    )
            except ClientError as error:
                if not _not_implemented_by_moto(error):
                    raise
                return self._function_url_qualifiers_one_by_one(function_name)
        return qualifiers

    def _function_url_qualifiers_one_by_one(self, function_name: str) -> list[str | None]:
        """What ListFunctionUrlConfigs would say, where it is missing (moto): moto keeps at most one
        URL config per function, on the unqualified function whatever Qualifier it was created
        with, and GetFunctionUrlConfig reads it back with the ARN it is on."""
        try:
            with translate_client_errors(f"lambda:GetFunctionUrlConfig {function_name}"):
                response = self._client.get_function_url_config(FunctionName=function_name)
        except NotFoundError:
            return []
        return [qualifier_of(response.get("FunctionArn", ""))]

    def is_managed(self, function_name: str) -> bool:
        """Whether the function carries the managed tag with the value "true". ListTags takes the
        unqualified function ARN only, so the name is resolved through GetFunctionConfiguration."""
        arn = ":".join(self.get_config(function_name).arn.split(":")[:7])
        with translate_client_errors(f"lambda:ListTags {function_name}"):
            tags = self._client.list_tags(Resource=arn).get("Tags") or {}
        return tags.get(self._managed_function_tag) == "true"  # as IAM's StringEquals compares it

    # ----------------------------------------------------------------------- writes
    def update_code(
        self,
        function_name: str,
        *,
        bucket: str | None,
        key: str | None,
        object_version: str | None,
        image_uri: str | None,
        revision_id: str,
        architectures: list[str] | None = None,
    ) -> FunctionConfig:
        kwargs: dict[str, Any] = {"FunctionName": function_name, "Publish": False, **_revision(revision_id)}
        if architectures:
            kwargs["Architectures"] = list(architectures)
        if image_uri and not (bucket or key):
            kwargs["ImageUri"] = image_uri
            source = image_uri
        elif bucket and key and not image_uri:
            kwargs.update(S3Bucket=bucket, S3Key=key)
            if object_version:
                kwargs["S3ObjectVersion"] = object_version
            source = f"s3://{bucket}/{key}" + (f"?versionId={object_version}" if object_version else "")
        else:
            raise InvalidRequest("artifact: give either bucket+key of a zip or image_uri of an image")
        with translate_client_errors(f"lambda:UpdateFunctionCode {function_name} from {source}"):
            response = self._client.update_function_code(**kwargs)
        return function_config_from(response, image_uri)

    def update_environment(self, function_name: str, environment: dict[str, str], revision_id: str) -> FunctionConfig:
        """Set the function's environment to exactly `environment` (the caller merges)."""
        with translate_client_errors(f"lambda:UpdateFunctionConfiguration {function_name}"):
            response = self._client.update_function_configuration(
                FunctionName=function_name,
                Environment={"Variables": dict(environment)},
                **_revision(revision_id),
            )
        return function_config_from(response)

    def update_configuration(
        self, function_name: str, *, environment: dict[str, str], settings: dict[str, Any], revision_id: str
    ) -> FunctionConfig:
        """Environment (exactly `environment`) and settings in one UpdateFunctionConfiguration."""
        with translate_client_errors(f"lambda:UpdateFunctionConfiguration {function_name}"):
            response = self._client.update_function_configuration(
                FunctionName=function_name,
                Environment={"Variables": dict(environment)},
                **configuration_parameters(settings),
                **_revision(revision_id),
            )
        return function_config_from(response)

    def get_provisioned_concurrency(self, function_name: str, qualifier: str) -> ProvisionedConcurrencyConfig | None:
        try:
            with translate_client_errors(f"lambda:GetProvisionedConcurrencyConfig {function_name}:{qualifier}"):
                response = self._client.get_provisioned_concurrency_config(
                    FunctionName=function_name, Qualifier=qualifier
                )
        except NotFoundError:  # ProvisionedConcurrencyConfigNotFoundException is a 404
            return None
        return provisioned_concurrency_from(qualifier, response)

    def put_provisioned_concurrency(self, function_name: str, qualifier: str, executions: int) -> None:
        """Request `executions` on the version. Lambda refusing the number (it would take the
        account's unreserved concurrency below its floor, say) is ConcurrencyNotReady, a business
        failure: retrying would not change it."""
        try:
            with translate_client_errors(f"lambda:PutProvisionedConcurrencyConfig {function_name}:{qualifier}"):
                self._client.put_provisioned_concurrency_config(
                    FunctionName=function_name, Qualifier=qualifier, ProvisionedConcurrentExecutions=executions
                )
        except ClientError as error:
            if error_code(error) != "InvalidParameterValueException":
                raise
            message = error.response.get("Error", {}).get("Message") or str(error)
            raise ConcurrencyNotReady(
                f"Lambda refused {executions} provisioned environment(s) on {function_name}:{qualifier}: {message}"
            ) from None

    def delete_provisioned_concurrency(self, function_name: str, qualifier: str) -> None:
        try:
            with translate_client_errors(f"lambda:DeleteProvisionedConcurrencyConfig {function_name}:{qualifier}"):
                self._client.delete_provisioned_concurrency_config(FunctionName=function_name, Qualifier=qualifier)
        except NotFoundError:
            return  # already gone: what we wanted

    def list_aliases(self, function_name: str) -> list[AliasRouting]:
        aliases: list[AliasRouting] = []
        with translate_client_errors(f"lambda:ListAliases {function_name}"):
            for page in self._client.get_paginator("list_aliases").paginate(FunctionName=function_name):
                aliases.extend(alias_routing_from(item) for item in page.get("Aliases", []))
        return aliases

    def delete_version(self, function_name: str, version: str) -> None:
        """Delete one published version. Only a version number is accepted: DeleteFunction without
        a qualifier would delete the whole function (the task's IAM also allows qualified ARNs only)."""
        if not version.isdigit():
            raise InvalidRequest(f"version: {version!r} is not a version number; refusing to delete it")
        try:
            with translate_client_errors(f"lambda:DeleteFunction {function_name}:{version}"):
                self._client.delete_function(FunctionName=function_name, Qualifier=version)
        except NotFoundError:
            return

    def publish_version(
        self, function_name: str, code_sha256: str, revision_id: str, description: str
    ) -> FunctionConfig:
        """Publish $LATEST, only if its code is `code_sha256` and it is still at `revision_id`."""
        with translate_client_errors(f"lambda:PublishVersion {function_name}"):
            response = self._client.publish_version(
                FunctionName=function_name,
                CodeSha256=code_sha256,
                Description=description[:256],
                **_revision(revision_id),
            )
        return function_config_from(response)

    def update_alias(
        self, function_name: str, alias: str, *, version: str, additional_weights: dict[str, float], revision_id: str
    ) -> AliasRouting:
        """Point `alias` at `version` with `additional_weights` (an empty dict clears the routing)."""
        weights = {str(v): float(w) for v, w in additional_weights.items()}
        with translate_client_errors(f"lambda:UpdateAlias {function_name}:{alias}"):
            response = self._client.update_alias(
                FunctionName=function_name,
                Name=alias,
                FunctionVersion=version,
                RoutingConfig={"AdditionalVersionWeights": weights},
                **_revision(revision_id),
            )
        return alias_routing_from(response)

    def invoke(self, function_name: str, qualifier: str | None, payload: Any, asynchronous: bool = False) -> Invocation:
        """Invoke and return the response; a payload that is not JSON comes back as text. A None
        payload sends no payload (the handler receives {})."""
        kwargs: dict[str, Any] = {
            "FunctionName": function_name,
            "InvocationType": "Event" if asynchronous else "RequestResponse",
        }
        if qualifier:
            kwargs["Qualifier"] = qualifier
        if payload is not None:
            kwargs["Payload"] = json.dumps(payload, default=str).encode("utf-8")
        target = f"{function_name}:{qualifier}" if qualifier else function_name
        with translate_client_errors(f"lambda:Invoke {target}"):
            response = self._client.invoke(**kwargs)
            body = response.get("Payload")
            raw = body.read() if body is not None else b""
        return Invocation(
            status_code=int(response.get("StatusCode", 0)),
            function_error=response.get("FunctionError"),
            payload=_decode_payload(raw),
            executed_version=response.get("ExecutedVersion"),
        )


class Boto3HookInvoker:
    """ports.HookInvoker: a synchronous invoke that waits at most the hook's timeout.

    `client_for(timeout_seconds)` gives a Lambda client whose read timeout is that long and which
    does not retry on its own (a retried read timeout would double the bound); the state machine
    retries throttles and 5xx, and a hook that does not answer in time fails the release.
    """

    def __init__(self, client_for: Callable[[int], Any]) -> None:
        self._client_for = client_for

    def invoke_hook(self, function_name: str, payload: Any, timeout_seconds: int) -> Invocation:
        client = self._client_for(timeout_seconds)
        try:
            with translate_client_errors(f"lambda:Invoke hook {function_name}"):
                response = client.invoke(
                    FunctionName=function_name,
                    InvocationType="RequestResponse",
                    Payload=json.dumps(payload, default=str).encode("utf-8"),
                )
                body = response.get("Payload")
                raw = body.read() if body is not None else b""
        except TransientAwsError as error:
            if isinstance(error.__cause__, ReadTimeoutError):
                raise HookFailed(f"hook {function_name} gave no answer within {timeout_seconds} s") from None
            raise
        return Invocation(
            status_code=int(response.get("StatusCode", 0)),
            function_error=response.get("FunctionError"),
            payload=_decode_payload(raw),
            executed_version=response.get("ExecutedVersion"),
        )
