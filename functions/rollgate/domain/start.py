"""Gate 1 — validate and lock.

Parse the request (a bad one fails here with the field named, before anything is touched) and take
the lease on function+alias, so two deployments of one alias never interleave.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollgate.domain.errors import InvalidRequest
from rollgate.domain.models import DeploymentContext, DeploymentRequest, parse_model
from rollgate.domain.ports import Clock, Lease, Ledger
from rollgate.domain.validation import StackHome, check_document, check_function_name

LEASE_MARGIN_SECONDS = 900


def function_name_of(name_or_arn: str, home: StackHome | None = None, *, field: str = "function_name") -> str:
    """`orders-api` from `arn:aws:lambda:…:function:orders-api` (or the name itself). InvalidRequest
    naming `field` when it is neither, or an ARN outside `home`: its bare name would be *this*
    account's function of that name."""
    try:
        return check_function_name(name_or_arn, home)
    except ValueError as error:
        raise InvalidRequest(f"{field}: {error}") from None


def deployment_id_for(started_at: datetime, execution_name: str) -> str:
    """Time-sortable and stable for one execution, so a redrive keeps its id (and its lease) while
    a new execution gets a new one."""
    return f"{started_at.strftime('%Y%m%dT%H%M%SZ')}-{execution_name}"


def parse_request(raw: Any, home: StackHome | None = None) -> DeploymentRequest:
    """The request, every rule applied (the document's depth, text and size, then each field); the
    function named by its bare name once its ARN, if given as one, is known to be this stack's."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(request): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    request = parse_model(DeploymentRequest, raw, home=home)
    return request.model_copy(update={"function_name": function_name_of(request.function_name, home)})


def start_deployment(
    raw_request: Any,
    execution: dict[str, Any] | None,
    *,
    ledger: Ledger,
    clock: Clock,
    lease_seconds: int,
    home: StackHome | None = None,
) -> DeploymentContext:
    """Validate, then lock: a request that fails any rule (its size included) fails here, before the
    lease is written. `home` is the stack's account and region (default: the execution ARN's)."""
    execution = execution or {}
    request = parse_request(raw_request, home or StackHome.from_arn(execution.get("Id")))
    # the lease outlives the longest this deployment can run, so it never lapses mid-canary; it
    # still expires on its own if the execution dies without reaching Record
    lease_seconds = max(lease_seconds, request.worst_case_seconds() + LEASE_MARGIN_SECONDS)
    now = clock.now()
    execution_name = str(execution.get("Name") or execution.get("name") or "manual")
    deployment_id = deployment_id_for(now, execution_name)
    lease = ledger.acquire_lease(
        Lease(
            function_name=request.function_name,
            alias=request.alias,
            holder=deployment_id,
            acquired_at=now,
            expires_at=now + timedelta(seconds=lease_seconds),
            detail={"execution_arn": execution.get("Id"), "release_id": request.provenance.release_id},
        )
    )
    return DeploymentContext(
        request=request,
        deployment_id=lease.holder,
        started_at=lease.acquired_at,
        execution_arn=execution.get("Id"),
    )
