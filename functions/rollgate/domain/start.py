"""Gate 1 — validate and lock.

Parse the request (a bad one fails here with the field named, before anything is touched) and take
the lease on function+alias, so two deployments of one alias never interleave.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from rollgate.domain.errors import DeploymentInProgress, InvalidRequest, RollgateError
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
