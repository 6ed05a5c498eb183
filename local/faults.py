"""Faults the local runtime injects on purpose, so tests can show what Rollgate does when AWS
itself misbehaves.

Public API:

    metric_outage(reason="...") -> context manager
        while inside, CloudWatch cannot serve GetMetricData: every query of every call answers
        StatusCode InternalError with no datapoints (what CloudWatch returns for a query it could
        not serve). Metrics are still recorded; reads after the outage see them all.
    metric_outage_active() -> bool
    spoil_metric_results(results) -> None
        called by local.moto_bridge on every GetMetricData answer: applies the outage, if any

Why InternalError answers rather than a 5xx: a 5xx or a throttle would be retried by botocore in
the tasks' clients with real-time backoff, which on the virtual clock costs wall time and proves
nothing more; Rollgate's metrics adapter receives an InternalError answer exactly as it receives an
error that outlasted those retries (a TransientAwsError), which is the case to exercise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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
