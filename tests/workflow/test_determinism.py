"""The same seed gives the same release, to the invocation: the local runtime's virtual clock moves
only when everything waits, so neither the machine's speed nor its load can change what a release
sees. Run alone or next to busy processes, these two runs agree exactly."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.workflow.conftest import running_harness

pytestmark = pytest.mark.workflow

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _without_assigned_ids(value: Any) -> Any:
    """The record with the identifiers AWS assigns at random (RevisionIds, event source mapping
    UUIDs) blanked: they differ between any two accounts, whatever the clock."""
    if isinstance(value, dict):
        return {key: _without_assigned_ids(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_assigned_ids(item) for item in value]
    return "<assigned id>" if isinstance(value, str) and UUID.match(value) else value


def _release(cdk_out: Path, build: str) -> dict[str, Any]:
    with running_harness(cdk_out, seed=11, start=START) as harness:
        watcher = harness.watcher(harness.start(harness.request(build), f"determinism-{build}"))
        conclusion = watcher.wait()
        (traffic,) = (t.snapshot() for t in harness.runtime.started_traffic)
        return {
            "outcome": conclusion.outcome,
            "reason": conclusion.reason(),
            "gates": watcher.gates,  # every gate's line: verdicts, sample counts, error rates
            "ledger": _without_assigned_ids(harness.ledger()),
            "invocations": traffic.sent,
            "errors": traffic.failed,
            "ended": harness.runtime.clock.now(),
        }


@pytest.mark.parametrize("build", ["v2", "v3"])
def test_the_same_seed_gives_the_same_release_exactly(cdk_out: Path, build: str) -> None:
    first, second = _release(cdk_out, build), _release(cdk_out, build)

    assert first["outcome"] == ("PROMOTED" if build == "v2" else "ROLLED_BACK"), first["reason"]
    assert any(state.startswith("Judge") for state, _ in first["gates"])  # verdicts were given
    for key in first:
        assert first[key] == second[key], key
