"""AdvanceWave reads each child's outcome from what its execution answered, and the ledger only
for what the answer does not say."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rollgate.contract import DEPLOY_ERRORS, Status
from rollgate.domain.deploy.start import deployment_id_for
from rollgate.domain.release.waves import advance, child_answer
from tests.unit.fakes import FakeLedger
from tests.unit.test_release_domain import _planned, _record

STARTED = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)


class CountingLedger(FakeLedger):
    """A FakeLedger that says whether the history was scanned."""

    def __init__(self) -> None:
        super().__init__()
        self.scans = 0

    def list_deployments(self, function_name: str, alias: str | None = None, limit: int = 20) -> list[Any]:
        self.scans += 1
        return super().list_deployments(function_name, alias, limit)


def _caught(execution_name: str, error: str, cause: str) -> dict[str, Any]:
    """What the Map's Catch leaves for a child that failed: States.TaskFailed, whose Cause is
    DescribeExecution's answer (PascalCase, StartDate in epoch milliseconds)."""
    described = {
        "ExecutionArn": f"arn:aws:states:eu-west-1:123456789012:execution:DeployFunction:{execution_name}",
        "Name": execution_name,
        "Status": "FAILED",
        "StartDate": int(STARTED.timestamp() * 1000),
        "Error": error,
        "Cause": cause,
    }
    return {"child_error": {"Error": "States.TaskFailed", "Cause": json.dumps(described)}}


def test_a_rolled_back_child_is_read_from_its_error_and_its_record_found_by_id() -> None:
    ctx = _planned()
    first, second = ctx.wave
    ledger = CountingLedger()
    deployment_id = deployment_id_for(STARTED, first.execution_name)
    ledger.put_deployment(
        {
            "deployment_id": deployment_id,
            "function_name": first.function_name,
            "alias": first.alias,
            "status": "ROLLED_BACK",
            "from_version": "1",
            "to_version": "2",
            "reason": "rolled back to v1: errors 4% vs 0.1%",
            "started_at": STARTED.isoformat(),
            "finished_at": STARTED.isoformat(),
        }
    )
    results = [
        _caught(first.execution_name, DEPLOY_ERRORS[Status.ROLLED_BACK], "rolled back to v1: errors 4% vs 0.1%"),
        _caught(second.execution_name, "DeploymentInProgress", "orders-api:live is being deployed by x"),
    ]

    after = advance(ctx.model_copy(update={"wave_results": results}), ledger=ledger)

    rolled_back, rejected = after.outcomes
    assert (rolled_back.status, rolled_back.deployment_id) == (Status.ROLLED_BACK, deployment_id)
    assert (rolled_back.from_version, rolled_back.to_version) == ("1", "2")
    assert rolled_back.reason == "rolled back to v1: errors 4% vs 0.1%"
    assert rejected.status is Status.REJECTED and rejected.reason.startswith("DeploymentInProgress: ")
    assert ledger.scans == 0  # nothing scanned: the answers named the outcome and the record


def test_a_child_whose_output_is_passed_needs_no_ledger() -> None:
    ctx = _planned()
    first = ctx.wave[0]
    output = {
        "deployment_id": deployment_id_for(STARTED, first.execution_name),
        "function_name": first.function_name,
        "alias": first.alias,
        "status": "PROMOTED",
        "from_version": "4",
        "to_version": "5",
        "reason": "v5 promoted after a healthy canary",
        "started_at": STARTED.isoformat(),
        "finished_at": STARTED.isoformat(),
    }
    results = [
        {"child": {"execution_arn": "arn", "status": "SUCCEEDED", "output": json.dumps(output)}},
        {"child": {"execution_arn": "arn", "status": "SUCCEEDED", "output": output}},
    ]
    ledger = CountingLedger()

    after = advance(ctx.model_copy(update={"wave_results": results}), ledger=ledger)

    assert [(o.status, o.from_version, o.to_version) for o in after.outcomes] == [(Status.PROMOTED, "4", "5")] * 2
    assert ledger.scans == 0


def test_a_child_that_succeeded_without_its_output_is_read_from_the_ledger() -> None:
    ctx = _planned()
    ledger = CountingLedger()
    for planned in ctx.wave:
        _record(ledger, planned, "PROMOTED")
    results = [{"child": {"execution_arn": "arn", "status": "SUCCEEDED"}} for _ in ctx.wave]

    after = advance(ctx.model_copy(update={"wave_results": results}), ledger=ledger)

    assert [o.status for o in after.outcomes] == [Status.PROMOTED, Status.PROMOTED]
    assert ledger.scans == len(ctx.wave)


def test_an_answer_of_another_shape_is_not_mistaken_for_an_outcome() -> None:
    assert child_answer({}) is None
    assert child_answer({"child": {"status": "SUCCEEDED", "output": "not json"}}) is None
    failed = child_answer({"child_error": {"Error": "States.Runtime", "Cause": "the iteration failed"}})
    assert failed is not None and failed.status is Status.FAILED and failed.deployment_id is None
