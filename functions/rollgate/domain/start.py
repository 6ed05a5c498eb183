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

LEASE_MARGIN_SECONDS = 900


def function_name_of(name_or_arn: str) -> str:
    """`orders-api` from `arn:aws:lambda:…:function:orders-api` (or the name itself)."""
    return name_or_arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in name_or_arn else name_or_arn


def deployment_id_for(started_at: datetime, execution_name: str) -> str:
    """Time-sortable and stable for one execution, so a redrive keeps its id (and its lease) while
    a new execution gets a new one."""
    return f"{started_at.strftime('%Y%m%dT%H%M%SZ')}-{execution_name}"


def parse_request(raw: Any) -> DeploymentRequest:
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(request): expected a JSON object, got {type(raw).__name__}")
    request = parse_model(DeploymentRequest, raw)
    return request.model_copy(update={"function_name": function_name_of(request.function_name)})


def start_deployment(
    raw_request: Any,
    execution: dict[str, Any] | None,
    *,
    ledger: Ledger,
    clock: Clock,
    lease_seconds: int,
) -> DeploymentContext:
    request = parse_request(raw_request)
    # the lease outlives the longest this deployment can run, so it never lapses mid-canary; it
    # still expires on its own if the execution dies without reaching Record
    lease_seconds = max(lease_seconds, request.worst_case_seconds() + LEASE_MARGIN_SECONDS)
    now = clock.now()
    execution = execution or {}
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
