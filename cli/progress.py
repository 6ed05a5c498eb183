"""Follow a DeployFunction, Release or Remediate execution: print each gate as it passes, then
the conclusion.

The conclusion is status AND outcome: an execution that SUCCEEDED but did not promote is not a
success, and neither is one whose outcome cannot be read.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

#: Where each task puts its record in the state document (its ResultPath).
RESULT_KEYS = {
    "Preflight": "baseline",
    "UpdateFunction": "update",
    "CheckUpdate": "update",
    "PublishVersion": "version",
    "CheckVersion": "version",
    "SmokeTest": "smoke",
    "PreTrafficHook": "pre_traffic",
    "ProvisionConcurrency": "concurrency",
    "CheckConcurrency": "concurrency",
    "ShiftTraffic": "canary",
    "JudgeCanary": "canary",
    "Promote": "watch",
    "JudgeWatch": "watch",
    "ShiftControl": "watch",
    "CompleteWatch": "watch",
    "PostTrafficHook": "post_traffic",
    "ReleaseConcurrency": "concurrency",
    "Prune": "prune",
    "Rollback": "rollback",
    "Record": "result",
    "RecordRelease": "result",
    "RecordRemediation": "result",
}
#: The task whose record is the execution's conclusion, per workflow.
RECORD_STATES = frozenset({"Record", "RecordRelease", "RecordRemediation"})
#: Outcomes that count as success: a deployment promoted, a release released, a remediation that
#: did what the situation asked for (rolled back, asked a deployment to abort, or rightly nothing).
DEPLOY_SUCCESS = frozenset({"PROMOTED"})
RELEASE_SUCCESS = frozenset({"RELEASED"})
REMEDIATION_SUCCESS = frozenset({"ROLLED_BACK", "ABORT_REQUESTED", "NO_ACTION"})
_TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


def _details(record: dict[str, Any], *, failed_only: bool = False) -> list[str]:
    """Evidence lines; the verdict headline is left out, as it is the gate's own line."""
    return [
        e["detail"]
        for e in record.get("evidence", [])
        if e.get("check") != "verdict" and not (failed_only and e.get("ok", True))
    ]


def describe_gate(state: str, record: dict[str, Any]) -> tuple[str, list[str]]:
    """(one line, sub-lines) for a gate's record; sub-lines carry the evidence worth reading."""
    if state == "Validate":
        return f"request valid, lease taken (deployment {record.get('deployment_id')})", []
    if state == "Preflight":
        checks = _details(record)
        return f"contract holds, baseline v{record.get('live_version')} ({len(checks)} checks)", checks[2:]
    if state in ("UpdateFunction", "CheckUpdate"):
        if record.get("status") == "InProgress":
            return f"LastUpdateStatus InProgress (poll {record.get('polls')}/{record.get('max_polls')})", []
        return f"LastUpdateStatus Successful after {record.get('polls')} poll(s)", []
    if state in ("PublishVersion", "CheckVersion"):
        return f"version {record.get('version')} {record.get('state')}: " + "; ".join(_details(record)), []
    if state == "SmokeTest":
        return f"smoke tests passed on v{record.get('version')}", []
    if state in ("ShiftTraffic", "Promote", "ShiftControl", "CompleteWatch"):
        moves = ("shift", "promote", "control")
        notes = [d for e in record.get("evidence", []) if e["check"] in moves for d in [e["detail"]]]
        return (notes[-1] if notes else "traffic moved"), []
    if state in ("JudgeCanary", "JudgeWatch"):
        verdict = next((e for e in record.get("evidence", []) if e["check"] == "verdict"), None)
        line = verdict["detail"] if verdict else "judged"
        return f"{line} -> {record.get('next')}", _details(record, failed_only=True)
    if state == "Rollback":
        return f"restored v{record.get('restored_version')} (verified)", _details(record)
    if state in RECORD_STATES:
        return f"{record.get('status')}: {record.get('reason')}", []
    return _describe_release_or_remediation(state, record)


def _describe_release_or_remediation(state: str, record: dict[str, Any]) -> tuple[str, list[str]]:
    if state == "StartRelease":
        return f"release {record.get('release_id')} requested", []
    if state == "LoadManifest":
        poll = record.get("manifest_poll") or {}
        if poll.get("status") == "waiting":
            return f"waiting for {poll.get('location')} (poll {poll.get('polls')}/{poll.get('max_polls')})", []
        waves = (record.get("plan") or {}).get("waves") or []
        count = sum(len(wave) for wave in waves)
        return f"manifest {poll.get('location')}: {count} function(s) in {len(waves)} wave(s)", []
    if state == "AdvanceWave":
        index = record.get("wave_index", 0)
        lines = [
            f"{o.get('function_name')}: {o.get('status')} {o.get('reason', '')}" for o in record.get("outcomes", [])
        ]
        return f"wave {index + 1} done -> {record.get('next')}", lines
    if state == "RevertFunction":
        report = record.get("report") or {}
        return f"{report.get('function_name')}: {report.get('detail')}", []
    if state == "Assess":
        return f"{record.get('action')}: {record.get('assessment')}", []
    if state == "Remediate":
        report = record.get("report") or {}
        return report.get("detail") or f"{record.get('action')} requested", []
    return "done", []


@dataclass
class Conclusion:
    execution_status: str
    result: dict[str, Any] | None
    error: str | None = None
    cause: str | None = None
    success_outcomes: frozenset[str] = DEPLOY_SUCCESS

    @property
    def outcome(self) -> str:
        if self.result and self.result.get("status"):
            return str(self.result["status"])
        return self.error or self.execution_status

    @property
    def unverified(self) -> bool:
        """Promoted although the watch ended INCONCLUSIVE (on_inconclusive_watch: promote_unverified)."""
        return (self.result or {}).get("verification") == "unverified"

    @property
    def succeeded(self) -> bool:
        return self.execution_status == "SUCCEEDED" and self.outcome in self.success_outcomes

    def reason(self) -> str:
        if self.result and self.result.get("reason"):
            return str(self.result["reason"])
        return _cause_message(self.cause) or self.execution_status


def _cause_message(cause: str | None) -> str | None:
    if not cause:
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause


_HISTORY_MARGIN = 5  # extra events per page, for those written between the two reads of a poll


@dataclass
class ExecutionWatcher:
    sfn: Any
    execution_arn: str
    out: TextIO = sys.stdout
    poll_seconds: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    quiet: bool = False
    success_outcomes: frozenset[str] = DEPLOY_SUCCESS
    _seen: int = 0
    _current_state: str | None = None
    _current_failed: bool = False
    _result: dict[str, Any] | None = None
    gates: list[tuple[str, str]] = field(default_factory=list)
    transitions: int = 0
    task_invocations: int = 0

    def _new_events(self) -> list[dict[str, Any]]:
        """The events after the last one handled, oldest first. Event ids count up from 1, so the
        newest one says how many are new: one small read when nothing happened, then one page
        holding just those (newest first), instead of the whole history on every poll."""
        newest = self._history_page(1)
        if not newest["events"] or newest["events"][0]["id"] <= self._seen:
            return []
        size = min(newest["events"][0]["id"] - self._seen + _HISTORY_MARGIN, 1000)
        fresh: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._history_page(size, token)
            for event in page["events"]:
                if event["id"] <= self._seen:
                    return fresh[::-1]
                fresh.append(event)
            token = page.get("nextToken")
            if not token:
                return fresh[::-1]

    def _history_page(self, size: int, token: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "executionArn": self.execution_arn,
            "includeExecutionData": True,
            "reverseOrder": True,
            "maxResults": size,
        }
        if token:
            kwargs["nextToken"] = token
        return dict(self.sfn.get_execution_history(**kwargs))

    def _say(self, mark: str, state: str, line: str, extra: list[str] | None = None) -> None:
        self.gates.append((state, line))
        if self.quiet:
            return
        print(f"  {mark} {state:<15} {line}", file=self.out, flush=True)
        for detail in extra or []:
            print(f"      {detail}", file=self.out, flush=True)

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        # what the execution costs: Step Functions bills state transitions, Lambda invocations
        if kind.endswith("StateEntered"):
            self.transitions += 1
        elif kind == "LambdaFunctionScheduled":
            self.task_invocations += 1
        if kind == "TaskStateEntered":
            self._current_state = event["stateEnteredEventDetails"]["name"]
            self._current_failed = False
        elif kind == "TaskStateExited" and not self._current_failed:
            details = event["stateExitedEventDetails"]
            state, output = details["name"], json.loads(details.get("output") or "{}")
            key = RESULT_KEYS.get(state)
            record = output.get(key, {}) if key else output
            if state in RECORD_STATES:
                self._result = record
            line, extra = describe_gate(state, record or {})
            judged_bad = state in ("JudgeCanary", "JudgeWatch") and record.get("next") == "rollback"
            mark = "✗" if state == "Rollback" or judged_bad else "✓"
            self._say(mark, state, line, extra)
        elif kind in ("LambdaFunctionFailed", "TaskFailed"):
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            message = _cause_message(details.get("cause")) or ""
            self._current_failed = True  # a Catch still exits the state; its output is not the gate's record
            self._say("✗", self._current_state or "task", f"{details.get('error')}: {message}")

    def poll_once(self) -> Conclusion | None:
        # Describe before reading history: once the status is terminal, the history read after it
        # holds every event, including Record's.
        described = self.sfn.describe_execution(executionArn=self.execution_arn)
        status = described["status"]
        if status not in _TERMINAL and self.quiet:
            return None  # nothing to show while it runs: the history is read once, at the end
        for event in self._new_events():
            self._handle(event)
            self._seen = event["id"]
        if status not in _TERMINAL:
            return None
        if self._result is None and described.get("output"):
            self._result = json.loads(described["output"])
        return Conclusion(status, self._result, described.get("error"), described.get("cause"), self.success_outcomes)

    def wait(self) -> Conclusion:
        while True:
            conclusion = self.poll_once()
            if conclusion is not None:
                return conclusion
            self.sleep(self.poll_seconds)
