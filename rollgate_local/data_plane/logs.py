"""CloudWatch Logs writing: an invocation's events (START, output, END, REPORT; or the JSON
format's platform records) put in its environment's stream with their ingestion times.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta
from typing import Any

from rollgate_local import bridge
from rollgate_local.bridge import (
    FunctionRecord,
)
from rollgate_local.data_plane.base import _RUNTIME_BUILD, LOG, DataPlaneBase
from rollgate_local.data_plane.output import _SYSTEM_LOGS_SHOWN, _InvocationLog, _timestamp
from rollgate_local.data_plane.records import _Environment


def _platform(at: datetime, kind: str, record: dict[str, Any]) -> str:
    """A platform record of the JSON log format."""
    return json.dumps({"time": _timestamp(at), "type": kind, "record": record}) + "\n"


class LogWriting(DataPlaneBase):
    """What Lambda writes to CloudWatch Logs for an invocation (platform lines, text or JSON)."""

    def logs(self, function_name: str) -> list[str]:
        return list(self._settings(function_name).logs)

    def _platform_lines(
        self,
        log: _InvocationLog,
        record: FunctionRecord,
        environment: _Environment,
        when: datetime,
        duration_ms: float,
        *,
        cold: bool,
        status: str,
        error: tuple[str, str, list[str]] | None,
        init_failed: bool,
    ) -> None:
        """The runtime's own lines around the handler's: INIT_START on a cold start, START, the
        timeout line, END and REPORT (text); platform.initStart/start/runtimeDone/report (JSON)."""
        request_id, end = log.request_id, when + timedelta(milliseconds=duration_ms)
        runtime = record.runtime or "python3.12"
        runtime_version = f"{runtime.replace('python', 'python:')}.v{_RUNTIME_BUILD}"
        runtime_arn = f"arn:aws:lambda:{record.region}::runtime:{hashlib.sha256(runtime.encode()).hexdigest()}"
        billed = math.ceil(duration_ms + (environment.init_ms if cold else 0.0))  # the INIT phase is billed too
        before, after = [], []
        if log.json:
            if (record.system_log_level or "INFO").upper() in _SYSTEM_LOGS_SHOWN:
                if cold:
                    init = {
                        "initializationType": "on-demand",
                        "phase": "init",
                        "runtimeVersion": runtime_version,
                        "runtimeVersionArn": runtime_arn,
                        "functionName": record.name,
                        "functionVersion": record.version,
                    }
                    before.append((when, _platform(when, "platform.initStart", init)))
                before.append(
                    (when, _platform(when, "platform.start", {"requestId": request_id, "version": record.version}))
                )
                metrics: dict[str, Any] = {
                    "durationMs": round(duration_ms, 2),
                    "billedDurationMs": billed,
                    "memorySizeMB": record.memory_size,
                    "maxMemoryUsedMB": environment.memory_mb,
                }
                if cold:
                    metrics["initDurationMs"] = environment.init_ms
                done: dict[str, Any] = {"requestId": request_id, "status": status}
                report: dict[str, Any] = {"requestId": request_id, "metrics": metrics, "status": status}
                if status != "success" and error is not None:
                    done["errorType"] = report["errorType"] = error[0]
                done["metrics"] = {"durationMs": round(duration_ms, 2)}
                after.append((end, _platform(end, "platform.runtimeDone", done)))
                after.append((end, _platform(end, "platform.report", report)))
        else:
            if cold:
                before.append(
                    (when, f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_arn}\n")
                )
            before.append((when, f"START RequestId: {request_id} Version: {record.version}\n"))
            if status == "timeout":
                after.append(
                    (end, f"{_timestamp(end)} {request_id} Task timed out after {record.timeout:.2f} seconds\n")
                )
            after.append((end, f"END RequestId: {request_id}\n"))
            report_line = (
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms"
                f"\tMemory Size: {record.memory_size} MB\tMax Memory Used: {environment.memory_mb} MB"
            )
            if cold:
                report_line += f"\tInit Duration: {environment.init_ms:.2f} ms"
            if status == "timeout":
                report_line += "\tStatus: timeout"
            elif init_failed and error is not None:
                report_line += f"\tStatus: error\tError Type: {error[0]}"
            after.append((end, report_line + "\n"))
        log.events[:] = before + log.events + after

    def _write_logs(
        self, record: FunctionRecord, environment: _Environment, log: _InvocationLog, ingested: datetime
    ) -> None:
        """The invocation's events into CloudWatch Logs, readable from `ingested` on."""
        ingestion_ms = int(ingested.timestamp() * 1000)
        events = [
            bridge.FunctionLogEvent(int(at.timestamp() * 1000), max(ingestion_ms, int(at.timestamp() * 1000)), m)
            for at, m in log.events
        ]
        retention = self.log_retention_seconds
        oldest_ms = None if retention is None else ingestion_ms - int(retention * 1000)
        try:
            bridge.put_function_log_events(
                record.account, record.region, record.log_group, environment.stream, events, oldest_ms=oldest_ms
            )
        except Exception:  # the logs are evidence, never a reason for the invocation to fail
            LOG.warning("could not write the logs of %s to CloudWatch Logs", record.name, exc_info=True)
