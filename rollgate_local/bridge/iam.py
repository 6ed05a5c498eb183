"""The managed-function tag condition (24): IAM's check of a task function's role on the Lambda
calls that change functions.

Patches (what AWS does / what moto 5.2.5 does / what we change):

24. The managed-function tag condition (``LambdaBackend.update_alias``, and inside 5 and 6). AWS
    IAM lets a task Lambda's role change only functions its policy allows, here those tagged
    ``rollgate:managed=true`` (``aws:ResourceTag`` conditions); moto enforces no IAM. For calls
    made by a function running in the data plane (the caller is the function of the invocation in
    that thread) we evaluate its role's policies for UpdateFunctionCode, UpdateFunctionConfiguration,
    PublishVersion and UpdateAlias: explicit Deny wins, else an Allow whose Action, Resource and
    aws:ResourceTag conditions match (other condition keys are taken as met), else
    AccessDeniedException as IAM words it. Calls from outside an invocation (tests, the CLI,
    ``local serve`` clients) are an administrator's and are not checked; reads are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rollgate_local.bridge.contract import LambdaServiceError
from rollgate_local.bridge.core import _patch, _rest_error
from rollgate_local.bridge.reads import _split_name

# Lambda actions Rollgate's roles are granted only on functions with the managed tag, that change them.
_TAG_CONDITIONED_ACTIONS = (
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
)
_ACTION_OF_METHOD = {
    "update_function_code": "lambda:UpdateFunctionCode",
    "update_function_configuration": "lambda:UpdateFunctionConfiguration",
}


def _tag_condition_holds(condition: dict[str, Any] | None, tags: dict[str, str]) -> bool:
    """The aws:ResourceTag/<key> conditions of a statement against the resource's tags; other
    condition keys are not modelled (taken as met)."""
    for operator, clauses in (condition or {}).items():
        for key, wanted in clauses.items():
            if not key.startswith("aws:ResourceTag/"):
                continue
            have = tags.get(key.split("/", 1)[1])
            values = wanted if isinstance(wanted, list) else [wanted]
            if operator in ("StringEquals", "StringLike") and have is None:
                return False
            if operator == "StringEquals" and have not in [str(v) for v in values]:
                return False
            if operator == "StringLike" and not any(_glob(have or "", str(v)) for v in values):
                return False
            if operator == "StringNotEquals" and have in [str(v) for v in values]:
                return False
    return True


def _glob(text: str, pattern: str, *, ignore_case: bool = False) -> bool:
    regex = "^" + ".*".join(".".join(re.escape(p) for p in part.split("?")) for part in pattern.split("*")) + "$"
    return re.match(regex, text, re.IGNORECASE if ignore_case else 0) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _policy_allows(documents: list[dict[str, Any]], action: str, resource: str, tags: dict[str, str]) -> bool:
    """IAM's evaluation of identity policies for one action: an explicit Deny wins, else some Allow
    whose Action, Resource and tag conditions match is needed."""
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not any(_glob(action, a, ignore_case=True) for a in _listed(statement.get("Action"))):
                continue
            if not any(_glob(resource, r) for r in _listed(statement.get("Resource"))):
                continue
            if not _tag_condition_holds(statement.get("Condition"), tags):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def _role_documents(account: str, role_arn: str) -> list[dict[str, Any]]:
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:  # no such role: nothing allows anything
        return []
    documents = [json.loads(text) if isinstance(text, str) else text for text in role.policies.values()]
    for policy in role.managed_policies.values():
        document = getattr(getattr(policy, "default_version", None), "document", None)
        if document:
            documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def _authorize(backend: Any, action: str, function_name: str) -> None:
    """The IAM check for `action` on `function_name` when the caller is a function running in the
    data plane (its role's policies, as IAM evaluates them for the tag condition). Calls from
    outside any invocation (tests, the CLI, `local serve` clients) are not checked: they stand for
    an administrator."""
    import os

    caller = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")  # per invocation (the data plane's overlay)
    if not caller:
        return
    try:
        caller_role = backend.get_function(caller).role
        target = backend.get_function(_split_name(function_name, None)[0])
    except Exception:
        return  # moto answers the missing function itself
    tags = dict(target.tags or {})
    if _policy_allows(_role_documents(backend.account_id, caller_role), action, str(target.function_arn), tags):
        return
    role_name = caller_role.rsplit("/", 1)[-1]
    raise _rest_error(
        LambdaServiceError(
            403,
            "AccessDeniedException",
            f"User: arn:aws:sts::{backend.account_id}:assumed-role/{role_name}/{caller} is not authorized to "
            f"perform: {action} on resource: {target.function_arn} because no identity-based policy allows "
            f"the {action} action",
        )
    )


def install() -> None:
    from moto.awslambda import models as lambda_models

    # 24. The managed-function tag condition on the mutating Lambda calls of functions' roles.
    original_update_alias = lambda_models.LambdaBackend.update_alias

    def update_alias(
        self: Any, name: str, function_name: str, function_version: str, description: str, routing_config: Any
    ) -> Any:
        _authorize(self, "lambda:UpdateAlias", function_name)
        return original_update_alias(self, name, function_name, function_version, description, routing_config)

    _patch(lambda_models.LambdaBackend, "update_alias", update_alias)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models.LambdaBackend.update_alias": (
        "self",
        "name",
        "function_name",
        "function_version",
        "description",
        "routing_config",
    ),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.awslambda.models.LambdaBackend.update_alias":
        "c24de12517dca5324da9f23f95622eac47788ed2ffa561388b0ca3322fb469aa",
}
# fmt: on
