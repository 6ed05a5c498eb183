"""Provisioned concurrency (29), served from the data plane.

Patches (what AWS does / what moto 5.2.5 does / what we change):

29. Provisioned concurrency (``moto.awslambda.urls.url_paths`` gains the provisioned-concurrency
    path; ``LambdaResponse`` gains Put/Get/Delete/ListProvisionedConcurrencyConfig(s)). AWS
    allocates the requested environments on a version or alias (Status IN_PROGRESS, then READY
    with AvailableProvisionedConcurrentExecutions = requested) and refuses $LATEST; moto answers
    "Not yet implemented". We serve the four calls from the data plane, which keeps the
    allocations and says when each is READY (on the runtime clock).
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import unquote

from rollgate_local.bridge.contract import LambdaServiceError, ProvisionedConcurrencyHooks
from rollgate_local.bridge.core import _dp, _patch, _rest_error
from rollgate_local.bridge.reads import _split_name, read_target

_PROVISIONED_PATH = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
_PROVISIONED_METHODS = (
    "put_provisioned_concurrency_config",
    "get_provisioned_concurrency_config",
    "delete_provisioned_concurrency_config",
    "list_provisioned_concurrency_configs",
)


def _provisioned_hooks() -> ProvisionedConcurrencyHooks:
    data_plane = _dp()
    if not hasattr(data_plane, "put_provisioned_concurrency"):
        raise _rest_error(LambdaServiceError(404, "ResourceNotFoundException", "Not yet implemented"))
    return cast(ProvisionedConcurrencyHooks, data_plane)


def _provisioned_target(response: Any) -> tuple[Any, str, str | None]:
    """(the function's $LATEST, its name, the qualifier) of a provisioned-concurrency request; 404
    for an unknown function, version or alias, as Lambda answers."""
    name, qualifier = _split_name(unquote(response.path.split("/")[-2]), None)
    qualifier = qualifier or (response.querystring.get("Qualifier") or [None])[0]
    fn = response.backend.get_function(name)
    if qualifier and qualifier != "$LATEST":
        try:
            read_target(fn.account_id, fn.region, name, qualifier)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
    return fn, name, qualifier


def install() -> None:
    from moto.awslambda import responses, urls
    from moto.awslambda.exceptions import InvalidParameterValueException

    # 29. The provisioned-concurrency calls, served from the data plane.
    _patch(urls, "url_paths", {**urls.url_paths, _PROVISIONED_PATH: responses.LambdaResponse.dispatch})

    def put(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        if not qualifier or qualifier == "$LATEST":
            raise InvalidParameterValueException("Provisioned Concurrency Configs cannot be applied to unpublished")
        executions = int(json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions", 0))
        if executions < 1:
            raise InvalidParameterValueException("ProvisionedConcurrentExecutions must be at least 1")
        answer = _provisioned_hooks().put_provisioned_concurrency(fn.account_id, fn.region, name, qualifier, executions)
        return 202, {}, json.dumps(answer)

    def get(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        found = _provisioned_hooks().provisioned_concurrency(fn.account_id, fn.region, name).get(str(qualifier))
        if found is None:
            raise _rest_error(
                LambdaServiceError(
                    404,
                    "ProvisionedConcurrencyConfigNotFoundException",
                    "No Provisioned Concurrency Config found for this function",
                )
            )
        return 200, {}, json.dumps(found)

    def delete(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        _provisioned_hooks().delete_provisioned_concurrency(fn.account_id, fn.region, name, str(qualifier))
        return 204, {}, ""

    def list_configs(self: Any) -> Any:
        fn, name, _ = _provisioned_target(self)
        configs = _provisioned_hooks().provisioned_concurrency(fn.account_id, fn.region, name)
        listed = [{"FunctionArn": f"{fn.function_arn}:{q}", **c} for q, c in sorted(configs.items())]
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})

    for method_name, method in zip(_PROVISIONED_METHODS, (put, get, delete, list_configs), strict=True):
        setattr(method, "_rollgate_added", True)  # noqa: B010 - ours, so verify() does not take it for moto's
        _patch(responses.LambdaResponse, method_name, method)


def unpatched_methods() -> list[str]:
    """Problems for verify(): a moto that has the calls 29 adds needs the patch re-read."""
    from moto.awslambda.responses import LambdaResponse

    problems = []
    for method_name in _PROVISIONED_METHODS:
        own = LambdaResponse.__dict__.get(method_name)
        if own is not None and not getattr(own, "_rollgate_added", False):
            problems.append(f"moto.awslambda.responses.LambdaResponse.{method_name} exists now: re-check patch 29")
    return problems


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
FINGERPRINTS: dict[str, str] = {}
