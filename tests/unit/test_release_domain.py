"""Release planning, wave outcomes and the atomic decision, with fakes (no AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.release.manifest import json_schema, parse_manifest
from rollgate.domain.release.waves import (
    advance,
    conclude_release,
    load_manifest,
    start_release,
)
from rollgate.domain.shared.errors import InvalidRequest, ManifestNotFound
from rollgate.domain.shared.names import MAX_NAME, child_execution_name, release_execution_name
from tests.unit.fakes import FakeClock, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "tests/events/release_manifest.json").read_text())


class Store:
    def __init__(self, data: Any = None) -> None:
        self.data = data
        self.reads = 0

    def read_json(self, bucket: str, key: str, version_id: str | None) -> Any:
        self.reads += 1
        return self.data


def _planned(manifest: dict[str, Any] | None = None, name: str = "run-1") -> Any:
    ctx = start_release({"manifest": manifest or SAMPLE}, {"Name": name, "Id": f"arn:x:{name}"}, clock=FakeClock())
    return load_manifest(ctx, store=Store())


def test_defaults_apply_and_per_function_overrides_win() -> None:
    ctx = _planned()
    payments, inventory = ctx.plan.waves[0]
    (orders,) = ctx.plan.waves[1]
    assert payments.request["strategy"]["steps"] == [10]
    assert orders.request["strategy"] == {"type": "linear", "steps": [10, 25, 50], "interval_seconds": 180}
    # health merges field by field
    assert inventory.request["health"]["latency_ratio_limit"] == 1.5
    assert inventory.request["health"]["error_rate_ceiling"] == 0.05
    assert orders.request["provenance"]["release_id"] == "shop-2026.11.23"
    assert ctx.wave == ctx.plan.waves[0]


def test_a_manifest_function_may_downgrade_bypassing_invokers_to_a_warning() -> None:
    manifest = json.loads(json.dumps(SAMPLE))
    manifest["waves"][0]["functions"][0]["bypass_invokers"] = "warn"
    ctx = _planned(manifest)
    first, second = ctx.plan.waves[0]
    assert first.request["bypass_invokers"] == "warn"
    assert second.request["bypass_invokers"] == "reject"  # the request's default


def test_child_names_are_unique_per_run_and_within_limits() -> None:
    first, second = _planned(name="run-1"), _planned(name="run-2")
    names_1 = [p.execution_name for wave in first.plan.waves for p in wave]
    names_2 = [p.execution_name for wave in second.plan.waves for p in wave]
    assert len(set(names_1)) == 3 and not set(names_1) & set(names_2)
    long = child_execution_name("x" * 80, 0, "f" * 64, "live")
    assert len(long) <= MAX_NAME
    assert release_execution_name("acme/shop", "0123456789abcdef") == "release-acme-shop-0123456789ab"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m["waves"].clear(), "manifest.waves"),
        (lambda m: m["waves"][0]["functions"][0]["artifact"].pop("key"), "manifest.waves.0.functions.0.artifact"),
        (lambda m: m.update(colour="blue"), "manifest.colour: unknown field"),
        (lambda m: m["defaults"]["health"].update(error_rate_ceiling=3), "error_rate_ceiling"),
        (lambda m: m["waves"][1]["functions"].append(m["waves"][0]["functions"][0]), "already deployed by waves.0"),
    ],
)
def test_bad_manifests_name_the_field(change: Any, field: str) -> None:
    manifest = json.loads(json.dumps(SAMPLE))
    change(manifest)
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.")):
        _planned(manifest)


def test_envelope_needs_exactly_one_manifest() -> None:
    with pytest.raises(InvalidRequest, match="exactly one of manifest"):
        start_release({"source": {}}, None, clock=FakeClock())


@pytest.mark.parametrize(
    ("location", "field"),
    [
        ({"bucket": "Bad_Bucket!", "key": "m.json"}, "manifest_location.bucket"),
        ({"bucket": "b-1", "key": "m\u0000.json"}, "manifest_location.key"),
    ],
)
def test_a_bad_manifest_location_names_the_field(location: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.")):
        start_release({"manifest_location": location}, None, clock=FakeClock())


def test_manifest_poll_waits_then_gives_up_clearly() -> None:
    body = {
        "manifest_location": {"bucket": "b-1", "key": "m.json"},
        "manifest_wait": {"interval_seconds": 5, "max_polls": 2},
    }
    ctx = start_release(body, {"Name": "r"}, clock=FakeClock())
    ctx = load_manifest(ctx, store=Store(None))
    assert ctx.manifest_poll.status == "waiting" and ctx.manifest_poll.polls == 1
    with pytest.raises(ManifestNotFound, match="within 2 polls"):
        load_manifest(ctx, store=Store(None))
    ready = load_manifest(ctx, store=Store(SAMPLE))
    assert ready.manifest_poll.status == "ready" and ready.plan is not None


def _record(ledger: FakeLedger, planned: Any, status: str, before: str = "1", after: str = "2") -> None:
    ledger.put_deployment(
        {
            "deployment_id": f"20261123T120000Z-{planned.execution_name}",
            "kind": "deployment",
            "function_name": planned.function_name,
            "alias": planned.alias,
            "status": status,
            "from_version": before,
            "to_version": after,
            "reason": f"{status.lower()} for a reason",
            "started_at": "2026-11-23T12:00:00Z",
            "finished_at": "2026-11-23T12:10:00Z",
        }
    )


def test_a_failed_wave_in_an_atomic_release_reverts_what_was_promoted() -> None:
    ledger = FakeLedger()
    ctx = _planned()
    for planned in ctx.wave:
        _record(ledger, planned, "PROMOTED")
    ctx = advance(ctx.model_copy(update={"wave_results": [{}, {}]}), ledger=ledger)
    assert ctx.next == "wave" and ctx.wave_index == 1
    _record(ledger, ctx.wave[0], "ROLLED_BACK")
    ctx = advance(ctx.model_copy(update={"wave_results": [{}]}), ledger=ledger)
    assert ctx.next == "revert"
    assert [(t.function_name, t.promoted_version, t.restore_version) for t in ctx.revert] == [
        ("payments-api", "2", "1"),
        ("inventory-api", "2", "1"),
    ]
    reverts = [
        {"report": {"status": "RESTORED", "detail": "ok"}},
        {"report": {"status": "ALREADY_RESTORED", "detail": "ok"}},
    ]
    result = conclude_release(ctx.model_copy(update={"reverts": reverts}), clock=FakeClock())
    assert result.status is Status.ROLLED_BACK and result.error_name == "ReleaseRolledBack"


def test_a_revert_that_could_not_be_done_fails_the_release_loudly() -> None:
    ledger = FakeLedger()
    ctx = _planned()
    _record(ledger, ctx.wave[0], "PROMOTED")
    _record(ledger, ctx.wave[1], "REJECTED", after="1")
    ctx = advance(ctx.model_copy(update={"wave_results": [{}, {}]}), ledger=ledger)
    assert [t.function_name for t in ctx.revert] == ["payments-api"]
    failed = [{"revert_error": {"Error": "RollbackFailed", "Cause": json.dumps({"errorMessage": "alias moved"})}}]
    result = conclude_release(ctx.model_copy(update={"reverts": failed}), clock=FakeClock())
    assert result.status is Status.FAILED and "COULD NOT RESTORE" in result.reason
    assert {f.function_name: f.status for f in result.functions}["orders-api"] is Status.NOT_STARTED


def test_a_child_that_never_concluded_is_read_from_the_catch() -> None:
    ctx = _planned()
    cause = json.dumps({"error": "DeploymentInProgress", "cause": "orders-api:live is being deployed by x"})
    results = [{"child_error": {"Error": "States.TaskFailed", "Cause": cause}}, {}]
    ctx = advance(ctx.model_copy(update={"wave_results": results}), ledger=FakeLedger())
    first, second = ctx.outcomes
    assert first.status is Status.REJECTED and "being deployed" in first.reason
    assert second.status is Status.FAILED and ctx.next == "done"


def test_non_atomic_release_with_a_failure_is_partial() -> None:
    ledger = FakeLedger()
    manifest = {**SAMPLE, "atomic": False}
    ctx = _planned(manifest)
    _record(ledger, ctx.wave[0], "PROMOTED")
    _record(ledger, ctx.wave[1], "ROLLED_BACK", after="3")
    ctx = advance(ctx.model_copy(update={"wave_results": [{}, {}]}), ledger=ledger)
    assert ctx.next == "done" and ctx.revert == []
    assert conclude_release(ctx, clock=FakeClock()).status is Status.PARTIAL


def test_checked_in_schema_is_generated_from_the_models() -> None:
    checked_in = json.loads((ROOT / "schemas/release-manifest.schema.json").read_text())
    assert checked_in == json.loads(json.dumps(json_schema())), "run: make schema"
    assert parse_manifest(SAMPLE).application == "shop"
