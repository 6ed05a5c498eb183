"""Gate 1 — validate and lock.

Parse the request (a bad one fails here with the field named, before anything is touched) and take
the lease on function+alias, so two deployments of one alias never interleave.

A request may name one of the stack's health policies (`health_policy`); it is resolved here, once,
under the request's own `health` fields, so the resolved policy is what every later gate judges by
and what the ledger records. A named policy holds only the fields it sets: the rest keep
HealthPolicy's defaults, declared in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from rollgate.domain.shared.errors import DeploymentInProgress, InvalidRequest, RollgateError
from rollgate.domain.shared.models import (
    DeploymentContext,
    DeploymentRequest,
    HealthPolicy,
    HealthPolicyName,
    parse_model,
)
from rollgate.domain.shared.ports import Clock, Lease, Ledger
from rollgate.domain.shared.validation import StackHome, check_document, check_function_name

LEASE_MARGIN_SECONDS = 900


def function_name_of(name_or_arn: str, home: StackHome | None = None, *, field: str = "function_name") -> str:
    """`orders-api` from `arn:aws:lambda:…:function:orders-api` (or the name itself). InvalidRequest
    naming `field` when it is neither, or an ARN outside `home`: its bare name would be *this*
    account's function of that name."""
    try:
        return check_function_name(name_or_arn, home)
    except ValueError as error:
        raise InvalidRequest(f"{field}: {error}") from None


def execution_start(execution: dict[str, Any], fallback: datetime) -> datetime:
    """When the execution started (`$$.Execution.StartTime`): the same on every retry and redrive of
    Validate, unlike the clock, so a retried Validate re-enters its own lease instead of locking
    itself out. `fallback` (the clock) only for a direct call without an execution."""
    raw = execution.get("StartTime") or execution.get("start_time")
    if isinstance(raw, datetime):
        started = raw
    elif isinstance(raw, str) and raw:
        try:
            started = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return fallback
    else:
        return fallback
    return started if started.tzinfo is not None else started.replace(tzinfo=UTC)


def deployment_id_for(started_at: datetime, execution_name: str) -> str:
    """Time-sortable and stable for one execution, so a redrive keeps its id (and its lease) while
    a new execution gets a new one."""
    return f"{started_at.strftime('%Y%m%dT%H%M%SZ')}-{execution_name}"


#: Where the stack's named health policies are configured (infra reads it; errors name it).
HEALTH_POLICIES_CONTEXT = "rollgate:healthPolicies"
_POLICY_NAME: TypeAdapter[str] = TypeAdapter(HealthPolicyName)


def parse_health_policies(data: Any, where: str = HEALTH_POLICIES_CONTEXT) -> dict[str, HealthPolicy]:
    """Named health policies (`{"strict": {…HealthPolicy fields…}}`), each validated as a whole
    policy; InvalidRequest naming `where.NAME.field`. Each keeps only the fields it sets."""
    if not isinstance(data, dict):
        raise InvalidRequest(f"{where}: expected an object of named health policies, got {type(data).__name__}")
    policies: dict[str, HealthPolicy] = {}
    for name, body in data.items():
        try:
            _POLICY_NAME.validate_python(name)
        except ValidationError:
            raise InvalidRequest(
                f"{where}: {name!a} is not a policy name (1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit)"
            ) from None
        policies[name] = parse_model(HealthPolicy, body, f"{where}.{name}")
    return policies


def apply_health_policy(
    raw: dict[str, Any], policies: Mapping[str, HealthPolicy] | None, *, field: str = "health_policy"
) -> dict[str, Any]:
    """`raw` with the policy it names (`health_policy`) under its own `health` fields, field by
    field. Unchanged without a name, or when `policies` is None: not known here (the CLI checks the
    name's form, the Validate task resolves it). An unknown name is InvalidRequest naming `field`
    and the known names."""
    name = raw.get("health_policy")
    if name is None or policies is None or not isinstance(name, str):
        return raw  # no name, not resolvable here, or not text: the model names that field
    if name not in policies:
        known = ", ".join(sorted(policies)) or f"none (the stack has none: cdk.json context {HEALTH_POLICIES_CONTEXT})"
        raise InvalidRequest(f"{field}: unknown health policy {name!a}; known: {known}")
    own = raw.get("health")
    if own is None:
        own = {}
    if not isinstance(own, dict):
        return raw  # the model names `health`
    return {**raw, "health": {**policies[name].model_dump(mode="json", exclude_unset=True), **own}}


def parse_request(
    raw: Any, home: StackHome | None = None, *, health_policies: Mapping[str, HealthPolicy] | None = None
) -> DeploymentRequest:
    """The request, every rule applied (the document's depth, text and size, then each field); the
    function named by its bare name once its ARN, if given as one, is known to be this stack's; its
    named health policy resolved from `health_policies` (None: left for the Validate task)."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(request): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    request = parse_model(DeploymentRequest, apply_health_policy(raw, health_policies), home=home)
    return request.model_copy(update={"function_name": function_name_of(request.function_name, home)})


def start_deployment(
    raw_request: Any,
    execution: dict[str, Any] | None,
    *,
    ledger: Ledger,
    clock: Clock,
    lease_seconds: int,
    home: StackHome | None = None,
    health_policies: Mapping[str, HealthPolicy] | None = None,
) -> DeploymentContext:
    """Validate, then lock: a request that fails any rule (its size included) fails here, before the
    lease is written. `home` is the stack's account and region (default: the execution ARN's);
    `health_policies` the stack's named policies (None: a name is taken as it is)."""
    execution = execution or {}
    request = parse_request(
        raw_request, home or StackHome.from_arn(execution.get("Id")), health_policies=health_policies
    )
    # the lease outlives the longest this deployment can run, so it never lapses mid-canary; it
    # still expires on its own if the execution dies without reaching Record
    lease_seconds = max(lease_seconds, request.worst_case_seconds() + LEASE_MARGIN_SECONDS)
    now = clock.now()
    execution_name = str(execution.get("Name") or execution.get("name") or "manual")
    started_at = execution_start(execution, now)
    deployment_id = deployment_id_for(started_at, execution_name)
    wanted = Lease(
        function_name=request.function_name,
        alias=request.alias,
        holder=deployment_id,
        acquired_at=started_at,
        expires_at=now + timedelta(seconds=lease_seconds),
        detail={"execution_arn": execution.get("Id"), "release_id": request.provenance.release_id},
    )
    try:
        lease = ledger.acquire_lease(wanted)
    except (DeploymentInProgress, InvalidRequest):
        raise
    except Exception:
        # the lease may be written and a later part of taking it failed (any error: a denied call,
        # a crash): a retry re-enters it (the id is the execution's), but if this was the last
        # attempt only Reconcile would release it
        _release_quietly(ledger, wanted)
        raise
    return DeploymentContext(
        request=request,
        deployment_id=lease.holder,
        started_at=lease.acquired_at,
        execution_arn=execution.get("Id"),
    )


def _release_quietly(ledger: Ledger, lease: Lease) -> None:
    """Give back a lease this execution may hold (conditional on the holder: never another's)."""
    # it still expires on its own; the error that got us here is the one to report
    with contextlib.suppress(RollgateError):
        ledger.release_lease(lease.function_name, lease.alias, lease.holder)
