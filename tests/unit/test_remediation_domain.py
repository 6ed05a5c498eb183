"""Remediation decisions and trigger routing, with fakes (no AWS)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.remediate.remediation import assess, conclude_remediation, remediate, start_remediation
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.ports import Lease
from rollgate.domain.shared.triggers import WorkflowStart, start_for_event
from tests.unit.fakes import FakeClock, FakeEvents, FakeLambda, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
ALARM = json.loads((ROOT / "tests/events/alarm_state_change.json").read_text())
MANUAL = json.loads((ROOT / "tests/events/manual_rollback.json").read_text())


@pytest.fixture
def world() -> tuple[FakeClock, FakeLambda, FakeLedger]:
    clock, lam, ledger = FakeClock(), FakeLambda(), FakeLedger()
    lam.add_function("orders-api", b"v1")
    return clock, lam, ledger


def _promotion(ledger: FakeLedger, clock: FakeClock, before: str, after: str) -> None:
    ledger.put_deployment(
        {
            "deployment_id": f"{clock.now():%Y%m%dT%H%M%SZ}-deploy",
            "kind": "deployment",
            "function_name": "orders-api",
            "alias": "live",
            "status": "PROMOTED",
            "from_version": before,
            "to_version": after,
            "reason": f"v{after} promoted",
            "started_at": clock.now().isoformat(),
            "finished_at": clock.now().isoformat(),
            "request": {"smoke_tests": [{"name": "ping", "payload": {}}]},
        }
    )


def _promote_v2(lam: FakeLambda) -> None:
    fn = lam.functions["orders-api"]
    fn.versions["2"] = fn.versions["1"]
    lam.update_alias(
        "orders-api", "live", version="2", additional_weights={}, revision_id=fn.aliases["live"].revision_id
    )


def _start(raw: Any, clock: FakeClock, tags: dict[str, str] | None = None) -> Any:
    return start_remediation(raw, {"Name": "r1"}, alarm_tags=tags or {}, default_lookback_minutes=60, clock=clock)


def test_alarm_blames_the_recent_live_promotion_and_rolls_it_back(world: Any) -> None:
    clock, lam, ledger = world
    _promote_v2(lam)
    _promotion(ledger, clock, "1", "2")
    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock)
    assert (ctx.function_name, ctx.alias, ctx.action) == ("orders-api", "live", "rollback")
    ctx = remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock)
    assert ctx.report.status == "RESTORED" and lam.get_alias("orders-api", "live").version == "1"
    assert ctx.report.smoke_passed is True
    record = conclude_remediation(ctx, clock=clock)
    assert record.status == "ROLLED_BACK" and record.kind == "remediation"
    assert ledger.current_lease("orders-api", "live") is None


def test_nothing_recent_means_nothing_changes(world: Any) -> None:
    clock, lam, ledger = world
    _promote_v2(lam)
    _promotion(ledger, clock, "1", "2")
    clock.advance(3 * 3600)
    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock)
    assert ctx.action == "none" and "lookback" in ctx.assessment
    assert (
        conclude_remediation(remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock), clock=clock).status
        == "NO_ACTION"
    )
    assert lam.get_alias("orders-api", "live").version == "2"


def test_manual_rollback_has_no_lookback_unless_asked(world: Any) -> None:
    clock, lam, ledger = world
    _promote_v2(lam)
    _promotion(ledger, clock, "1", "2")
    clock.advance(3 * 3600)
    assert assess(_start(MANUAL, clock), ledger=ledger, lambda_api=lam, clock=clock).action == "rollback"
    limited = _start({**MANUAL, "lookback_minutes": 30}, clock)
    assert assess(limited, ledger=ledger, lambda_api=lam, clock=clock).action == "none"


def test_a_promotion_no_longer_live_is_not_blamed(world: Any) -> None:
    clock, lam, ledger = world
    _promotion(ledger, clock, "1", "2")  # the alias is still on v1
    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock)
    assert ctx.action == "none" and "no longer live" in ctx.assessment


def test_a_deployment_in_flight_is_asked_to_abort(world: Any) -> None:
    clock, lam, ledger = world
    ledger.acquire_lease(Lease("orders-api", "live", "deploy-7", clock.now(), clock.now() + timedelta(hours=1)))
    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock)
    assert ctx.action == "abort"
    remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock)
    assert "alarm rollgate-guard-orders-api-errors" in ledger.abort_requested("orders-api", "live")


def test_an_alarm_without_dimensions_names_its_function_by_tag(world: Any) -> None:
    clock = world[0]
    event = copy.deepcopy(ALARM)
    event["detail"]["configuration"]["metrics"] = []
    with pytest.raises(InvalidRequest, match="names no Lambda function"):
        _start(event, clock)
    ctx = _start(event, clock, {"rollgate:function": "payments-api", "rollgate:alias": "prod"})
    assert (ctx.function_name, ctx.alias) == ("payments-api", "prod")


def test_manual_input_errors_name_the_field(world: Any) -> None:
    with pytest.raises(InvalidRequest, match="function_name: required field is missing"):
        _start({"alias": "live"}, world[0])


ROUTING = {"artifact_bucket": "artifacts", "release_branches": ["release/*"], "guard_alarm_prefix": "rollgate-guard-"}


def test_a_push_to_a_release_branch_starts_one_named_release() -> None:
    event = {
        "detail-type": "Release Branch Pushed",
        "detail": {
            "repository": "acme/shop",
            "branch": "release/1.4",
            "commit": "a" * 40,
            "pushed_by": "dev",
            "provider": "github",
        },
    }
    start = start_for_event(event, **ROUTING)
    assert isinstance(start, WorkflowStart) and start.workflow == "release"
    assert start.name == "release-acme-shop-aaaaaaaaaaaa" == start_for_event(event, **ROUTING).name
    assert start.input["manifest_location"] == {
        "bucket": "artifacts",
        "key": f"releases/acme/shop/{'a' * 40}/manifest.json",
    }
    event["detail"]["branch"] = "main"
    assert "not a release branch" in start_for_event(event, **ROUTING)


def test_codecommit_and_release_requested_and_alarms_route() -> None:
    codecommit = {
        "detail-type": "CodeCommit Repository State Change",
        "detail": {
            "event": "referenceUpdated",
            "referenceType": "branch",
            "referenceName": "release/2",
            "repositoryName": "shop",
            "commitId": "b" * 40,
        },
    }
    assert start_for_event(codecommit, **ROUTING).input["source"]["trigger"] == "codecommit"
    codecommit["detail"]["referenceType"] = "tag"
    assert isinstance(start_for_event(codecommit, **ROUTING), str)
    requested = {"detail-type": "Release Requested", "detail": {"manifest": {"release_id": "r-9"}}}
    assert start_for_event(requested, **ROUTING).name == "release-r-9"
    alarm = start_for_event(ALARM, **ROUTING)
    assert alarm.workflow == "remediate" and alarm.name.startswith("remediate-rollgate-guard-orders-api-errors")
    ok = copy.deepcopy(ALARM)
    ok["detail"]["state"]["value"] = "OK"
    assert "not ALARM" in start_for_event(ok, **ROUTING)


# --------------------------------------------------------------------------- a holder that no longer runs
class _Executions:
    def __init__(self, status: str | None) -> None:
        self._status = status

    def status(self, execution_arn: str) -> str | None:
        return self._status

    def baseline_version(self, execution_arn: str) -> str | None:
        return "1"


def _canary_held_by(lam: FakeLambda, ledger: FakeLedger, clock: FakeClock) -> None:
    """A deployment of v2 holds the lease with 20% on v2."""
    fn = lam.functions["orders-api"]
    fn.versions["2"] = fn.versions["1"]
    lam.update_alias(
        "orders-api", "live", version="1", additional_weights={"2": 0.2}, revision_id=fn.aliases["live"].revision_id
    )
    detail = {"execution_arn": "arn:aws:states:us-east-1:123456789012:execution:Deploy:d7"}
    ledger.acquire_lease(Lease("orders-api", "live", "deploy-7", clock.now(), clock.now() + timedelta(hours=1), detail))


@pytest.mark.parametrize("ended", ["ABORTED", "FAILED", "TIMED_OUT", None])
def test_a_holder_whose_execution_ended_is_taken_over_and_rolled_back(world: Any, ended: str | None) -> None:
    # given a canary whose execution no longer runs (None: it no longer exists)
    clock, lam, ledger = world
    _canary_held_by(lam, ledger, clock)
    executions = _Executions(ended)
    events = FakeEvents()

    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock, executions=executions)
    assert ctx.action == "take_over" and "deploy-7" in ctx.assessment
    ctx = remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock, events=events, executions=executions)

    # then the alias is back on v1, the lease free, no abort flag, the dead deployment recorded once
    routing = lam.get_alias("orders-api", "live")
    assert (routing.version, routing.additional_weights) == ("1", {})
    assert ledger.current_lease("orders-api", "live") is None
    assert ledger.abort_requested("orders-api", "live") is None
    assert ledger.deployments["deploy-7"]["status"] == ("ABORTED" if ended == "ABORTED" else "FAILED")
    record = conclude_remediation(ctx, clock=clock)
    assert record.status == "ROLLED_BACK" and record.to_version == "1"
    assert record.reason.startswith("took over: alias live put back on v1")
    assert record.taken_over == "deploy-7"
    assert {e.check for e in record.evidence["remediation"]} >= {"takeover_found", "takeover_did"}


def test_a_holder_whose_execution_runs_is_still_asked_to_abort(world: Any) -> None:
    clock, lam, ledger = world
    _canary_held_by(lam, ledger, clock)
    executions = _Executions("RUNNING")

    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock, executions=executions)
    assert ctx.action == "abort"
    remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock, events=FakeEvents(), executions=executions)

    assert ledger.abort_requested("orders-api", "live") is not None
    assert lam.get_alias("orders-api", "live").additional_weights == {"2": 0.2}


def test_a_holder_running_again_by_the_time_remediate_acts_is_asked_to_abort(world: Any) -> None:
    # Assess saw it ended; by Remediate a new execution holds the alias: reconcile leaves it alone
    clock, lam, ledger = world
    _canary_held_by(lam, ledger, clock)
    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock, executions=_Executions("FAILED"))

    ctx = remediate(
        ctx, ledger=ledger, lambda_api=lam, clock=clock, events=FakeEvents(), executions=_Executions("RUNNING")
    )

    assert ctx.action == "abort" and ctx.takeover is not None and ctx.takeover.status == "HOLDER_RUNNING"
    assert ledger.abort_requested("orders-api", "live") is not None
    assert conclude_remediation(ctx, clock=clock).status == "ABORT_REQUESTED"


def test_a_split_alias_nobody_holds_is_taken_over(world: Any) -> None:
    # given a canary share left behind by a deployment whose lease has expired
    clock, lam, ledger = world
    _canary_held_by(lam, ledger, clock)
    ledger.leases.clear()  # expired: the ledger no longer answers it (the fake does not read expiry)

    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock, executions=_Executions(None))
    assert ctx.action == "take_over" and "no deployment holding it" in ctx.assessment
    ctx = remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock, events=FakeEvents(), executions=_Executions(None))

    assert lam.get_alias("orders-api", "live").additional_weights == {}
    assert conclude_remediation(ctx, clock=clock).status == "ROLLED_BACK"


def test_a_dead_holder_whose_promotion_stood_is_released_then_its_promotion_rolled_back(world: Any) -> None:
    # given deploy-7 recorded PROMOTED v2 and announced it, then died before releasing its lease
    clock, lam, ledger = world
    _promote_v2(lam)
    _promotion(ledger, clock, "1", "2")
    (promotion,) = ledger.deployments.values()
    detail = {"execution_arn": "arn:aws:states:us-east-1:123456789012:execution:Deploy:d7"}
    holder = promotion["deployment_id"]
    ledger.acquire_lease(Lease("orders-api", "live", holder, clock.now(), clock.now() + timedelta(hours=1), detail))
    promotion["event_published"] = "PROMOTED"
    executions = _Executions("FAILED")

    ctx = assess(_start(ALARM, clock), ledger=ledger, lambda_api=lam, clock=clock, executions=executions)
    ctx = remediate(ctx, ledger=ledger, lambda_api=lam, clock=clock, events=FakeEvents(), executions=executions)

    # then the lease is released (its promotion stands in the ledger) and the alarm blames that promotion
    assert lam.get_alias("orders-api", "live").version == "1"
    assert ledger.current_lease("orders-api", "live") is None
    record = conclude_remediation(ctx, clock=clock)
    assert record.status == "ROLLED_BACK" and (record.from_version, record.to_version) == ("2", "1")
    assert record.reason.startswith(f"took over: lease of {holder} released; then alias live moved from v2")
