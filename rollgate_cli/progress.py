"""Follow a DeployFunction, Release or Remediate execution: print each gate as it passes, then
the conclusion.

The conclusion is status AND outcome: an execution that SUCCEEDED but did not promote is not a
success, and neither is one whose outcome cannot be read.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from rollgate.contract import DEPLOY_ERRORS, DEPLOY_SUCCESS, RECORD_STATES, RESULT_KEYS

# where each state puts its record, which record concludes an execution, and which outcomes count as
# success: the contract the state machines are built from
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
        if record.get("status") == "Skipped":  # deploy --version: an existing version, as it is
            return "; ".join(_details(record)) or "nothing updated", []
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
        return f"{line} -> {record.get('next')}", _details(record, failed_only=True) + _new_signatures(record)
    if state in ("AwaitApproval", "ApprovalTimedOut"):
        answers = [e["detail"] for e in record.get("evidence", []) if e.get("check") == "operator"]
        return (answers[-1] if answers else "approval answered"), []
    if state == "Rollback":
        restored = f"v{record.get('restored_version')}"
        line = f"restored {restored}" + (" (verified)" if record.get("verified", True) else " (NOT verified)")
        if record.get("smoke_passed") is False:
            line += f", but {restored} failed its smoke test"
        return line, _details(record)
    if state in RECORD_STATES:
        return f"{outcome_label(record)}: {readable_cause(record.get('reason'))}", []
    if state == "ReleaseLease":
        return ("lease released" if record.get("released") else "lease already free"), []
    return _describe_release_or_remediation(state, record)


def _new_signatures(record: dict[str, Any]) -> list[str]:
    """Under a verdict that failed on log evidence: the new error signatures it found, one a line."""
    lines: list[str] = []
    for e in record.get("evidence", []):
        if e.get("check") == "health:logs" and not e.get("ok", True):
            found = ((e.get("data") or {}).get("observed") or {}).get("new_signatures") or []
            lines += ["new error signatures:", *(f"  {line}" for line in signature_lines(found))] if found else []
    return lines


def signature_lines(signatures: list[dict[str, Any]]) -> list[str]:
    """One line per error signature: its kind, how many invocations showed it, the signature, an example."""
    lines = []
    for shown in signatures:
        example = str(shown.get("example") or "").split("\n", 1)[0][:120]
        said = f"{shown.get('kind', 'error'):<7} x{shown.get('invocations', 0):<5} {shown.get('signature', '')}"
        lines.append(f"{said}   e.g. {example}" if example else said)
    return lines


def outcome_label(record: dict[str, Any]) -> str:
    """The status, and for a rollback whose restored version failed its smoke test, that too (its
    own outcome: the alias is back and verified, the version it runs is in doubt)."""
    status = str(record.get("status") or "")
    if record.get("rollback_verification") == "smoke_failed":
        return f"{status} (RESTORED VERSION FAILED ITS SMOKE TEST)"
    return status


def _wave_done(record: dict[str, Any]) -> int:
    """The index of the wave AdvanceWave just judged: its outcomes carry it (the record's wave_index
    already points at the next wave when it goes on)."""
    waves = [o["wave"] for o in record.get("outcomes", []) if isinstance(o.get("wave"), int)]
    if waves:
        return max(waves)
    index = int(record.get("wave_index") or 0)
    return index - 1 if record.get("next") == "wave" and index > 0 else index


def gate_ok(state: str, record: dict[str, Any]) -> bool:
    """Whether a gate that completed is shown as passed: a verdict that rolls back is the failure; a
    rollback that restored and verified the alias did its job (a revert or rollback that could not
    is not)."""
    if state in ("JudgeCanary", "JudgeWatch"):
        return record.get("next") != "rollback"
    if state == "Rollback":
        return record.get("verified", True) is not False and record.get("smoke_passed") is not False
    if state == "RevertFunction":
        return (record.get("report") or {}).get("status") != "FAILED"
    return True


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
    if state == "CheckQueue":
        queue = record.get("queue")
        if not queue:
            return "not queued (the release names no branch)", []
        where = f"{queue.get('application')} {queue.get('branch')}"
        if queue.get("next") == "wait":
            return f"queued in {where}, {queue.get('ahead')} ahead: {queue.get('reason')}", []
        return f"queue {where}: {queue.get('next')} ({queue.get('reason')})", []
    if state == "AdvanceWave":
        done = _wave_done(record)
        lines = [
            f"{o.get('function_name')}:{o.get('alias')} {o.get('status')}: {readable_cause(o.get('reason')) or '-'}"
            for o in record.get("outcomes", [])
            if o.get("wave") == done
        ]
        return f"wave {done + 1} done -> {record.get('next')}", lines
    if state == "AwaitWaveApproval":
        wave = int(record.get("wave") or 0) + 1
        return f"wave {wave} approved by {record.get('approved_by')} ({record.get('reason')})", []
    if state in ("WaveApprovalTimedOut", "WaveNotApproved"):
        if record.get("next") == "wave":
            approval = record.get("wave_approval") or {}
            return f"wave {int(approval.get('wave') or 0) + 1} approved by default ({approval.get('reason')})", []
        return f"{record.get('revert_reason')} -> {record.get('next')}", []
    if state == "DeployFunction":  # one function of a release wave: its child execution ended
        child = record.get("child") or {}
        return f"{record.get('function_name')}:{record.get('alias')} child execution {child.get('status')}", []
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
            return readable_cause(str(self.result["reason"]))
        if self.cause:
            return error_line(self.error, self.cause)
        return self.execution_status

    def headline(self) -> str:
        """`OUTCOME: reason`, the outcome said once (an execution's error is both)."""
        reason = self.reason()
        return reason if reason.startswith(f"{self.outcome}: ") else f"{self.outcome}: {reason}"

    @property
    def exit_code(self) -> int:
        """0 success, 1 not a success, 3 promoted UNVERIFIED (see rollgate_cli.main)."""
        if self.succeeded:
            return 3 if self.unverified else 0
        return 1


def execution_document(
    execution_arn: str,
    workflow: str,
    conclusion: Conclusion | None = None,
    watcher: ExecutionWatcher | None = None,
) -> dict[str, Any]:
    """What `deploy`, `release`, `rollback` and `watch` say in json mode (README: JSON output): the
    execution, and once it was followed to its end, the conclusion and every gate line."""
    document: dict[str, Any] = {
        "execution_arn": execution_arn,
        "workflow": workflow,
        "watched": conclusion is not None,
        "execution_status": None,
        "outcome": None,
        "succeeded": None,
        "verification": None,
        "reason": None,
        "execution_error": None,
        "result": None,
        "gates": [],
    }
    if conclusion is None:
        return document
    document.update(
        execution_status=conclusion.execution_status,
        outcome=conclusion.outcome,
        succeeded=conclusion.succeeded,
        verification=(conclusion.result or {}).get("verification"),
        reason=conclusion.reason(),
        result=conclusion.result,
        gates=list(watcher.gate_log) if watcher else [],
    )
    if conclusion.error:
        document["execution_error"] = {
            "name": conclusion.error,
            "message": error_line(conclusion.error, conclusion.cause),
        }
    return document


# --------------------------------------------------------------------------- error causes, for people
#: A Python traceback, as a runtime may put one into a message: dropped (never shown to a user).
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)
#: An absolute file path of the host that ran the task (two or more segments, not part of a URL,
#: an ARN or an S3 key): shown as its last segment.
_HOST_PATH = re.compile(r"(?<![\w:/.~-])(?:/[\w.@+-]+){2,}/?")
#: Step Functions error names and Lambda error JSON that carry no message of ours.
_STATES_ERRORS = ("States.TaskFailed", "States.Runtime")
#: A child DeployFunction's error name -> the outcome it stands for.
_CHILD_OUTCOMES = {name: status.value for status, name in DEPLOY_ERRORS.items()}


def readable_cause(text: str | None) -> str:
    """An error cause or reason as a person should read it, on one line: a Lambda error document
    (errorType, errorMessage, stackTrace) becomes "errorType: errorMessage", a Step Functions error
    document "Error: Cause", anywhere in the text; no stack trace, no file path of the host."""
    if not text:
        return ""
    decoder = json.JSONDecoder()
    parts: list[str] = []
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            parts.append(text[position : start + 1])
            position = start + 1
            continue
        before = text[position:start]
        said = _said(value)
        if said is None:
            parts.append(text[position:end])
        else:
            name, message = said
            # "InvalidRequest: {"errorType": "InvalidRequest", ...}" says the name once
            parts.append(before if before.endswith(f"{name}: ") or not name else f"{before}{name}: ")
            parts.append(message)
        position = end
    parts.append(text[position:])
    joined = _TRACEBACK.sub("", "".join(parts))
    joined = _HOST_PATH.sub(lambda match: match.group(0).rstrip("/").rsplit("/", 1)[-1], joined)
    return " ".join(joined.split())


def _said(value: Any) -> tuple[str, str] | None:
    """(error name, message) of a Lambda or Step Functions error document, else None."""
    if not isinstance(value, dict):
        return None
    if "errorMessage" in value or "errorType" in value:
        return str(value.get("errorType") or ""), readable_cause(str(value.get("errorMessage") or ""))
    if "Error" in value and ("Cause" in value or "ExecutionArn" in value):
        return str(value.get("Error") or ""), readable_cause(str(value.get("Cause") or value.get("Status") or ""))
    return None


def error_line(error: str | None, cause: str | None) -> str:
    """One line for a failed task or execution: our error name and message. A failed child
    execution (the Release workflow's DeployFunction) is named with its outcome and reason."""
    child = _child_execution(cause)
    if child is not None:
        return child
    message = readable_cause(cause)
    if not error or (error in _STATES_ERRORS and message):
        return message or (error or "")
    if not message or message == error:
        return error
    return message if message.startswith(f"{error}: ") else f"{error}: {message}"


def _child_execution(cause: str | None) -> str | None:
    """`function:alias OUTCOME: reason` out of the cause a `startExecution.sync` task fails with
    (the child's DescribeExecution document), else None."""
    try:
        described = json.loads(cause or "")
    except ValueError:
        return None
    if not isinstance(described, dict) or "ExecutionArn" not in described:
        return None
    request = described.get("Input")
    if isinstance(request, str):
        try:
            request = json.loads(request)
        except ValueError:
            request = None
    request = request if isinstance(request, dict) else {}
    error = str(described.get("Error") or described.get("Status") or "FAILED")
    name = request.get("function_name") or str(described.get("Name") or described["ExecutionArn"]).rsplit(":", 1)[-1]
    target = f"{name}:{request['alias']}" if request.get("alias") else str(name)
    reason = readable_cause(str(described.get("Cause") or "")) or error
    if error in _CHILD_OUTCOMES:
        return f"{target} {_CHILD_OUTCOMES[error]}: {reason}"
    return f"{target} FAILED: {reason if reason.startswith(error) else f'{error}: {reason}'}"


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
    #: failures shown per state name, whose exit is still to come (a Catch exits the state too)
    _failed_exits: dict[str, int] = field(default_factory=dict)
    _result: dict[str, Any] | None = None
    gates: list[tuple[str, str]] = field(default_factory=list)
    #: every line shown, for `--output json`: {"state", "ok", "summary", "details"}
    gate_log: list[dict[str, Any]] = field(default_factory=list)
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

    def _say(self, ok: bool, state: str, line: str, extra: list[str] | None = None) -> None:
        self.gates.append((state, line))
        self.gate_log.append({"state": state, "ok": ok, "summary": line, "details": list(extra or [])})
        if self.quiet:
            return
        print(f"  {'✓' if ok else '✗'} {state:<15} {line}", file=self.out, flush=True)
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
        elif kind == "TaskStateExited":
            details = event["stateExitedEventDetails"]
            state, output = details["name"], json.loads(details.get("output") or "{}")
            # the exit of a failure already shown: its output is the Catch's, not the gate's record.
            # Parallel iterations of a release wave share the name; the one that failed is the one
            # whose output carries the caught error.
            if self._failed_exits.get(state) and (state != "DeployFunction" or "child_error" in output):
                self._failed_exits[state] -= 1
                return
            key = RESULT_KEYS.get(state)
            record = output.get(key, {}) if key else output
            if state in RECORD_STATES:
                self._result = record
            line, extra = describe_gate(state, record or {})
            self._say(gate_ok(state, record or {}), state, line, extra)
        elif kind in ("LambdaFunctionFailed", "TaskFailed"):
            details = event.get("lambdaFunctionFailedEventDetails") or event.get("taskFailedEventDetails") or {}
            state = self._current_state or "task"
            self._failed_exits[state] = self._failed_exits.get(state, 0) + 1
            self._say(False, state, error_line(details.get("error"), details.get("cause")))

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
