"""Faults the local runtime injects on purpose, so tests can show what Rollgate does when AWS
itself misbehaves.

Public API:

    metric_outage(reason="...") -> context manager
        while inside, CloudWatch cannot serve GetMetricData: every query of every call answers
        StatusCode InternalError with no datapoints (what CloudWatch returns for a query it could
        not serve). Metrics are still recorded; reads after the outage see them all.
    metric_outage_active() -> bool
    spoil_metric_results(results) -> None
        called by rollgate_local.bridge on every GetMetricData answer: applies the outage, if any
    aws_call_faults(fault=None) -> context manager yielding a CallRecorder
        while inside, every AWS call a Rollgate task Lambda makes is recorded (task, API,
        occurrence); with a Fault(task, api, occurrence, kind), that one call raises the fault
        instead (kinds: FAULT_KINDS); with Fault(..., persistent=True), that call and every later
        one of the same task and API raise it (a step failing past its retries). The
        fault-injection suite, tests/workflow/test_faults.py

Why InternalError answers rather than a 5xx: a 5xx or a throttle would be retried by botocore in
the tasks' clients with real-time backoff, which on the virtual clock costs wall time and proves
nothing more; Rollgate's metrics adapter receives an InternalError answer exactly as it receives an
error that outlasted those retries (a TransientAwsError), which is the case to exercise.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, ReadTimeoutError

_lock = threading.Lock()
_outage_reason: str | None = None


@contextmanager
def metric_outage(reason: str = "CloudWatch could not serve the query (injected outage)") -> Iterator[None]:
    """GetMetricData fails while the block runs; nesting is refused (one outage at a time)."""
    global _outage_reason
    with _lock:
        if _outage_reason is not None:
            raise RuntimeError("a metric outage is already in progress")
        _outage_reason = reason
    try:
        yield
    finally:
        with _lock:
            _outage_reason = None


def metric_outage_active() -> bool:
    with _lock:
        return _outage_reason is not None


def spoil_metric_results(results: list[dict[str, Any]]) -> None:
    """During an outage, turn each result of a GetMetricData answer (moto's result dicts) into
    CloudWatch's answer for a query it could not serve."""
    with _lock:
        reason = _outage_reason
    if reason is None:
        return
    for result in results:
        result["values"] = []
        result["timestamps"] = []
        result["status_code"] = "InternalError"
        result["messages"] = [{"code": "InternalError", "value": reason}]


# --------------------------------------------------------------------------- AWS call faults
# What the fault-injection suite (tests/workflow/test_faults.py) drives: every AWS call a Rollgate
# task Lambda makes is recorded as (task, "service:Operation", occurrence); a planned fault is
# raised in place of one of them. The hook wraps botocore's BaseClient._make_api_call, above the
# SDK's own retries: the task sees the error its retries could not absorb. Only calls made while a
# Rollgate task handler runs (the data plane's _HANDLER is rollgate.tasks.<module>.lambda_handler)
# are counted; the sample app's and the test harness's own calls pass untouched.

#: The kinds of fault one run injects, and the error each becomes.
FAULT_KINDS = ("throttle", "5xx", "conflict", "access_denied", "read_timeout", "task_crash")
_CLIENT_ERRORS = {
    "throttle": ("ThrottlingException", 400, "Rate exceeded (injected)"),
    "5xx": ("ServiceUnavailableException", 503, "Service unavailable (injected)"),
    "conflict": ("ResourceConflictException", 409, "The operation cannot be performed at this time (injected)"),
    "access_denied": ("AccessDeniedException", 403, "not authorized to perform this operation (injected)"),
}


class InjectedCrash(Exception):
    """The task process dies mid-call (what an out-of-memory kill or a timeout looks like to the
    state machine: the task fails with an error its Retry does not name)."""


@dataclass(frozen=True)
class Call:
    """One AWS call of a task: which task, which API, its 1-based occurrence in the run."""

    task: str
    api: str
    occurrence: int


@dataclass(frozen=True)
class Fault:
    """Raise `kind` instead of making the `occurrence`-th `api` call of `task` (and, `persistent`,
    every later one: the step's retries cannot absorb it)."""

    task: str
    api: str
    occurrence: int
    kind: str
    persistent: bool = False

    def __str__(self) -> str:
        return f"{self.kind}@{self.task}:{self.api}#{self.occurrence}{'+' if self.persistent else ''}"


@dataclass
class CallRecorder:
    """Every AWS call the tasks made (in order), and whether the planned fault fired."""

    fault: Fault | None = None
    calls: list[Call] = field(default_factory=list)
    fired: bool = False
    _counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def on_call(self, task: str, api: str) -> None:
        with _lock:
            self._counts[(task, api)] += 1
            call = Call(task, api, self._counts[(task, api)])
            self.calls.append(call)
            fault = self.fault
            fire = (
                fault is not None
                and (fault.persistent or not self.fired)
                and (fault.task, fault.api) == (call.task, call.api)
                and (call.occurrence >= fault.occurrence if fault.persistent else call.occurrence == fault.occurrence)
            )
            if fire:
                self.fired = True
        if fire and fault is not None:
            raise _error(fault)

    def occurrences(self) -> dict[tuple[str, str], int]:
        """(task, api) -> how many times the run made that call."""
        return dict(self._counts)


_recorder: CallRecorder | None = None
_original_make_api_call = botocore.client.BaseClient._make_api_call


def _task_module() -> str | None:
    handler = os.environ.get("_HANDLER", "")
    # rollgate.tasks.<workflow package>.<module>.lambda_handler
    parts = handler.split(".")
    if len(parts) == 5 and parts[:2] == ["rollgate", "tasks"]:
        return parts[3]
    return None


def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    recorder = _recorder
    task = _task_module() if recorder is not None else None
    if recorder is not None and task is not None:
        recorder.on_call(task, f"{self.meta.service_model.endpoint_prefix}:{operation_name}")
    return _original_make_api_call(self, operation_name, api_params)


def _error(fault: Fault) -> Exception:
    operation = fault.api.split(":", 1)[1]
    if fault.kind == "read_timeout":
        return ReadTimeoutError(endpoint_url=f"https://{fault.api.split(':', 1)[0]}.local (injected read timeout)")
    if fault.kind == "task_crash":
        return InjectedCrash(f"task {fault.task} crashed during {fault.api} (injected)")
    code, status, message = _CLIENT_ERRORS[fault.kind]
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


@contextmanager
def aws_call_faults(fault: Fault | None = None) -> Iterator[CallRecorder]:
    """Record every AWS call the Rollgate tasks make while inside; with `fault`, raise it in place
    of that one call (once). One recorder at a time."""
    global _recorder
    recorder = CallRecorder(fault=fault)
    with _lock:
        if _recorder is not None:
            raise RuntimeError("AWS call faults are already being injected")
        _recorder = recorder
        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        with _lock:
            _recorder = None
            botocore.client.BaseClient._make_api_call = _original_make_api_call  # type: ignore[method-assign]
