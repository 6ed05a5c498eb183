"""Fault injection: one fault per deployment, in one AWS call a task makes, and the promise still
holds when the execution has ended (the Reconciler's rule may run once on an execution that ended early):

- the alias routes 100% to one version, the one the recorded outcome says (PROMOTED: the new
  version; anything else: the baseline);
- no lease is held;
- exactly one ledger outcome and one outcome event for the deployment;
- the execution ended.

A clean run records every call (task, API, occurrence); the matrix injects each fault kind at each
call's first and middle occurrence (rollgate_local.faults). `make chaos` runs the whole matrix
(ROLLGATE_CHAOS=1); `make test` runs the fast subset below: faults in the calls that broke the
promise before (Validate's lease, Record's steps and the lease release, Rollback's alias moves), a stop mid-canary,
a stop mid-watch and five concurrent starts for one alias. Everything on the virtual clock.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.deploy.reconcile import ENDED_EARLY
from rollgate_local import moto_bridge
from rollgate_local.faults import FAULT_KINDS, CallRecorder, Fault, aws_call_faults
from tests.workflow.conftest import Harness, running_harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

CHAOS = os.environ.get("ROLLGATE_CHAOS") == "1"
#: the longest a run may take on the virtual clock before "the execution ended" fails
RUN_LIMIT_SECONDS = 6 * 3600.0
REPORT = Path(os.environ.get("ROLLGATE_CHAOS_REPORT", "chaos-report.json"))


@dataclass
class RunResult:
    label: str
    execution_status: str
    outcome: str | None
    reconciled: bool
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


def _status(harness: Harness, execution_arn: str) -> str:
    return str(harness.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])


def _ended(harness: Harness, execution_arn: str) -> str:
    return str(
        harness.wait_until(
            lambda: (s := _status(harness, execution_arn)) != "RUNNING" and s, every=5.0, within=RUN_LIMIT_SECONDS
        )
    )


def _settle(harness: Harness) -> None:
    """Let the Reconciler's rule act on the executions that ended: on the virtual clock a sleep
    returns only once every other actor waits, so the ends' events have been delivered; then wait
    for the deliveries themselves."""
    harness.runtime.clock.sleep(1)
    moto_bridge.drain_deliveries()


def _all_events(harness: Harness) -> list[dict[str, Any]]:
    sqs = harness.client("sqs")
    seen: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=harness.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not received:
            return seen
        for message in received:
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=harness.events_queue_url, ReceiptHandle=message["ReceiptHandle"])


def check_promise(harness: Harness, execution_arns: list[str]) -> RunResult:
    """End every execution, let the Reconciler's rule run where one ended early, then check the promise."""
    statuses = [_ended(harness, arn) for arn in execution_arns]
    _settle(harness)
    reconciled = any(status in ENDED_EARLY for status in statuses)
    problems: list[str] = []
    version, weights = harness.alias()
    if weights:
        problems.append(f"alias split: v{version} primary, {weights}")
    lease = harness.lease()
    if lease is not None:
        problems.append(f"lease held by {lease.holder}")
    records = [r for r in harness.ledger() if r.get("kind", "deployment") == "deployment"]
    started = [r for r in records if r.get("execution_arn") in execution_arns]
    outcome = started[0]["status"] if started else None
    # an execution refused at Validate (locked out, invalid) holds no lease and writes no record;
    # every execution that got past it has exactly one
    for arn in execution_arns:
        mine = [r for r in started if r.get("execution_arn") == arn]
        # one that failed in Validate after writing the lease is recorded by reconcile, once
        allowed = {1} if _held(harness, arn) else {0, 1} if all(r.get("reconciled") for r in mine) else {0}
        if len(mine) not in allowed:
            problems.append(f"{len(mine)} ledger outcome(s) for {arn.rsplit(':', 1)[-1]}, expected {sorted(allowed)}")
    promoted = [r for r in started if r["status"] == "PROMOTED"]
    expected = str(promoted[-1]["to_version"]) if promoted else "1"
    if version != expected:
        problems.append(f"alias on v{version}, but the ledger says v{expected} ({[r['status'] for r in started]})")
    by_deployment: dict[str, int] = {}
    for event in _all_events(harness):
        deployment_id = event.get("detail", {}).get("deployment_id")
        if deployment_id and event.get("detail-type", "").startswith("Deployment"):
            by_deployment[deployment_id] = by_deployment.get(deployment_id, 0) + 1
    for record in started:
        count = by_deployment.get(record["deployment_id"], 0)
        if count != 1:
            problems.append(f"{count} outcome event(s) for {record['deployment_id']}")
    if any(s == "RUNNING" for s in statuses):
        problems.append("an execution did not end")
    return RunResult(
        label="", execution_status=",".join(statuses), outcome=outcome, reconciled=reconciled, problems=problems
    )


def _held(harness: Harness, execution_arn: str) -> bool:
    """Whether the execution got past Validate (its history has a PreflightEntered-or-later state)."""
    history = harness.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    entered = {e.get("stateEnteredEventDetails", {}).get("name") for e in history["events"]}
    return bool(entered - {None, "Validate", "RejectInvalidRequest", "LockedOut", "ValidateFailed"})


def deploy_under(harness: Harness, fault: Fault | None, name: str, build: str = "v2") -> tuple[RunResult, CallRecorder]:
    with aws_call_faults(fault) as recorder:
        execution_arn = harness.start(harness.request(build), name)
        result = check_promise(harness, [execution_arn])
    result.label = str(fault) if fault else "clean"
    if fault is not None and not recorder.fired:
        result.problems.append("the planned fault never fired (the call did not happen)")
    return result, recorder


# --------------------------------------------------------------------------- the fast subset
FAST_FAULTS = [
    # (A) Validate: the lease written, then a timeout; the retry must re-enter its own lease
    Fault("validate", "dynamodb:PutItem", 1, "read_timeout"),
    # (B) Record's steps and the lease release after it, each failing once (a crash: the step
    # fails, the execution's own Reconcile finishes)
    Fault("record", "dynamodb:PutItem", 1, "throttle"),
    Fault("record", "events:PutEvents", 1, "5xx"),
    Fault("release_lease", "dynamodb:DeleteItem", 1, "task_crash"),
    # (C) a traffic move refused mid-canary: Rollback puts the alias back
    Fault("shift_traffic", "lambda:UpdateAlias", 1, "access_denied"),
]


@pytest.mark.parametrize("fault", FAST_FAULTS, ids=str)
def test_one_fault_keeps_the_promise(harness: Harness, fault: Fault) -> None:
    result, _ = deploy_under(harness, fault, f"fault-{FAST_FAULTS.index(fault)}")
    assert result.held, (str(fault), result.problems)


#: what the matrix found: a denied or crashed stale-abort clear after Validate wrote the lease
VALIDATE_AFTER_THE_LEASE = [
    Fault("validate", "dynamodb:DeleteItem", 1, "access_denied"),
    Fault("validate", "dynamodb:DeleteItem", 1, "task_crash"),
]


@pytest.mark.skipif(not CHAOS, reason="in `make chaos`")
@pytest.mark.parametrize("fault", VALIDATE_AFTER_THE_LEASE, ids=str)
def test_a_validate_failing_after_the_lease_keeps_the_promise(harness: Harness, fault: Fault) -> None:
    result, _ = deploy_under(harness, fault, f"validate-{VALIDATE_AFTER_THE_LEASE.index(fault)}")
    assert result.held, (str(fault), result.problems)
    assert harness.ledger() == []  # the lease given back at once: nothing to record


# --------------------------------------------------------------------------- past their retries
def _states_entered(harness: Harness, execution_arn: str) -> list[str]:
    history = harness.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]


def _the_execution(harness: Harness, name: str) -> tuple[str, dict[str, Any]]:
    arn = f"{harness.outputs['DeployStateMachineArn'].replace(':stateMachine:', ':execution:')}:{name}"
    return arn, harness.client("stepfunctions").describe_execution(executionArn=arn)


def test_a_record_failing_past_its_retries_is_concluded_by_the_executions_own_reconcile(harness: Harness) -> None:
    # given a ledger that refuses every outcome write of Record (a 5xx on its first attempt and each of its 8 retries)
    fault = Fault("record", "dynamodb:PutItem", 1, "5xx", persistent=True)
    # when v2 is released
    result, recorder = deploy_under(harness, fault, "record-past-retries")
    # then the promise holds without waiting for the execution's end: its own Reconcile step wrote
    # the one outcome (no record named v2 PROMOTED, so the alias is back on v1), announced it once
    # and released the lease, and the execution ends on that outcome
    assert result.held, result.problems
    assert recorder.occurrences()[("record", "dynamodb:PutItem")] == 1 + 8
    arn, described = _the_execution(harness, "record-past-retries")
    entered = _states_entered(harness, arn)
    assert entered[-3:] == ["Reconcile", "Concluded?", "NotPromoted"], entered
    assert described["error"] == "DeploymentFailed"
    (record,) = harness.ledger()
    assert record["status"] == "FAILED" and record["execution_arn"] == arn
    assert record["reason"].startswith("Record failed past its retries (TransientAwsError")
    assert "reconciled: lease held by" in record["reason"]
    assert harness.alias() == ("1", {}) and harness.lease() is None


def test_a_rollback_whose_alias_update_is_denied_is_restored_by_the_executions_own_reconcile(
    harness: Harness,
) -> None:
    # given Rollback may not move the alias (every UpdateAlias denied), when v3 fails its canary
    fault = Fault("rollback", "lambda:UpdateAlias", 1, "access_denied", persistent=True)
    result, _ = deploy_under(harness, fault, "rollback-denied", build="v3")
    # then the execution's own Reconcile (its own role) put the alias back on v1, recorded the
    # outcome once with what it found and did, and released the lease
    assert result.held, result.problems
    arn, described = _the_execution(harness, "rollback-denied")
    assert described["error"] == "DeploymentFailed"
    entered = _states_entered(harness, arn)
    assert "Rollback" in entered and entered[-3:] == ["Reconcile", "Concluded?", "NotPromoted"], entered
    (record,) = harness.ledger()
    assert record["status"] == "FAILED"
    assert record["reason"].startswith("Rollback failed past its retries")
    assert any("put back on v1" in line for line in record["reconciled"]["did"]), record["reconciled"]
    assert harness.alias() == ("1", {})
    assert harness.lease() is None


def test_the_clean_run_holds_and_makes_the_calls_the_subset_names(harness: Harness) -> None:
    result, recorder = deploy_under(harness, None, "clean")
    assert result.held and result.outcome == "PROMOTED", result.problems
    made = recorder.occurrences()
    for fault in FAST_FAULTS:
        assert made.get((fault.task, fault.api), 0) >= fault.occurrence, fault


def _stop_when(harness: Harness, execution_arn: str, condition: Any) -> None:
    harness.wait_until(condition, every=5.0)
    harness.client("stepfunctions").stop_execution(executionArn=execution_arn, cause="operator stop (injected)")


def test_a_stop_mid_canary_keeps_the_promise(harness: Harness) -> None:
    execution_arn = harness.start(harness.request("v2"), "stop-mid-canary")
    _stop_when(harness, execution_arn, lambda: harness.alias()[1])
    result = check_promise(harness, [execution_arn])
    assert result.held and result.reconciled, result.problems
    assert result.outcome == "ABORTED"


def test_a_stop_mid_watch_keeps_the_promise(harness: Harness) -> None:
    execution_arn = harness.start(harness.request("v2", watch_seconds=600), "stop-mid-watch")
    _stop_when(harness, execution_arn, lambda: harness.alias()[0] != "1")
    result = check_promise(harness, [execution_arn])
    assert result.held and result.reconciled, result.problems
    assert result.outcome == "ABORTED"


def test_five_concurrent_starts_for_one_alias_keep_the_promise(harness: Harness) -> None:
    arns = [harness.start(harness.request("v2"), f"concurrent-{n}") for n in range(5)]
    result = check_promise(harness, arns)
    assert result.held, result.problems
    assert result.outcome == "PROMOTED"


# --------------------------------------------------------------------------- the whole matrix
def matrix(recorder: CallRecorder) -> list[Fault]:
    """Each fault kind at each call's first and middle occurrence (the middle one of a call made
    once per judgement is mid-canary or mid-watch)."""
    faults = []
    for (task, api), count in sorted(recorder.occurrences().items()):
        for occurrence in sorted({1, (count + 1) // 2}):
            faults += [Fault(task, api, occurrence, kind) for kind in FAULT_KINDS]
    return faults


@pytest.mark.skipif(not CHAOS, reason="the whole matrix runs in `make chaos` (ROLLGATE_CHAOS=1)")
def test_the_whole_matrix_keeps_the_promise(cdk_out: Path) -> None:
    with running_harness(cdk_out) as harness:
        clean, recorder = deploy_under(harness, None, "clean")
    assert clean.held, clean.problems
    faults = matrix(recorder)
    limit = int(os.environ.get("ROLLGATE_CHAOS_LIMIT", "0")) or len(faults)
    results: list[RunResult] = []
    for index, fault in enumerate(faults[:limit]):
        with running_harness(cdk_out) as harness:
            result, _ = deploy_under(harness, fault, f"chaos-{index}")
        results.append(result)
        _write_report(recorder, faults, results)  # after every run: a long matrix can be read as it goes
    assert [(r.label, r.problems) for r in results if not r.held] == []


def _write_report(recorder: CallRecorder, faults: list[Fault], results: list[RunResult]) -> None:
    REPORT.write_text(
        json.dumps(
            {
                "calls_recorded": len(recorder.calls),
                "distinct_calls": len(recorder.occurrences()),
                "matrix": len(faults),
                "fault_runs": len(results),
                "held": sum(r.held for r in results),
                "reconciled": sum(r.reconciled for r in results),
                "outcomes": dict(Counter(str(r.outcome) for r in results)),
                "broken": [(r.label, r.problems) for r in results if not r.held],
            },
            indent=2,
        )
    )
