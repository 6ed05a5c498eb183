"""Safety outcomes on fakes: a restored-but-smoke-failed rollback is its own outcome
(rollback_verification), the lease is given back in a step of its own after Record, and
bypass_invokers: warn records bypassing invokers as a warning instead of rejecting."""

from __future__ import annotations

import pytest

from rollgate.domain.deploy import outcome, start
from rollgate.domain.judge.verdict import Outcome
from rollgate.domain.shared.errors import TransientAwsError
from rollgate.domain.shared.models import StepError
from rollgate.domain.shared.ports import EventSourceMapping
from tests.unit.conftest import World, drive, request_for
from tests.unit.test_gates import FN_ARN, V1_ZIP, _grant, _SeesInvokers


def _restored_version_smoke(world: World, *, fails: bool) -> None:
    responder = world.lambda_api.responder

    def on_the_old_version(function_name, qualifier, payload):
        if qualifier == "1" and fails:
            raise TransientAwsError("lambda:Invoke orders-api:1: throttled past the retries")
        return responder(function_name, qualifier, payload)

    world.lambda_api.responder = on_the_old_version


@pytest.mark.parametrize(
    ("smoke_tests", "smoke_fails", "expected"),
    [
        ([{"name": "ping", "payload": {"ping": True}}], False, "verified"),
        ([{"name": "ping", "payload": {"ping": True}}], True, "smoke_failed"),
        ([], False, "alias_only"),
    ],
)
def test_a_rollback_says_how_its_restored_version_was_verified(
    world: World, smoke_tests: list, smoke_fails: bool, expected: str
) -> None:
    # given an unhealthy canary
    world.verdicts = [Outcome.UNHEALTHY]
    _restored_version_smoke(world, fails=smoke_fails)
    result = drive(world, request_for(smoke_tests=smoke_tests))
    # then it is rolled back, and the record and its event say how v1 was verified
    assert result["status"] == "ROLLED_BACK"
    assert result["rollback_verification"] == expected
    ((detail_type, detail),) = world.events.published
    assert detail_type == "Deployment Rolled Back" and detail["rollback_verification"] == expected
    assert ("FAILED ITS SMOKE TEST" in result["reason"]) == (expected == "smoke_failed")


def test_a_promotion_has_no_rollback_verification(world: World) -> None:
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED" and result["rollback_verification"] is None


def test_record_keeps_the_lease_for_its_own_release_step(world: World) -> None:
    ctx = start.start_deployment(
        request_for(), {"Name": "x", "Id": "arn:exec:x"}, ledger=world.ledger, clock=world.clock, lease_seconds=600
    )
    ctx = ctx.model_copy(update={"error": StepError(Error="PreflightFailed", Cause="no")})

    recorded = outcome.record_outcome(ctx, ledger=world.ledger, events=world.events, clock=world.clock)

    assert recorded.status.value == "REJECTED"
    assert ("orders-api", "live") in world.ledger.leases
    assert outcome.release(ctx, ledger=world.ledger) is True
    assert world.ledger.leases == {}
    assert outcome.release(ctx, ledger=world.ledger) is False  # a retried release is a no-op


@pytest.fixture
def invokers_world(world: World) -> World:
    sees = _SeesInvokers()
    sees.add_function("orders-api", V1_ZIP, env={"TABLE": "orders"})
    world.lambda_api = sees
    return world


def test_a_bypassing_grant_is_a_recorded_warning_under_bypass_invokers_warn(invokers_world: World) -> None:
    invokers_world.lambda_api.policy = [_grant(FN_ARN)]

    result = drive(invokers_world, request_for(bypass_invokers="warn"))

    assert result["status"] == "PROMOTED"
    (warning,) = [e for e in result["evidence"]["preflight"] if not e["ok"]]
    assert warning["check"] == "invokers_use_alias"
    assert warning["detail"].startswith("WARNING (bypass_invokers: warn, the release goes on): invokers bypass")
    assert "'api'" in warning["detail"]


def test_a_bypassing_mapping_is_a_recorded_warning_under_bypass_invokers_warn(world: World) -> None:
    world.lambda_api.functions["orders-api"].mappings.append(
        EventSourceMapping("uuid-1", "arn:aws:kinesis:us-east-1:1:stream/orders", "arn:fn:orders-api", "Enabled")
    )

    result = drive(world, request_for(bypass_invokers="warn"))

    assert result["status"] == "PROMOTED"
    (warning,) = [e for e in result["evidence"]["preflight"] if not e["ok"]]
    assert warning["check"] == "triggers_use_alias" and "stream/orders" in warning["detail"]


def test_bypass_invokers_takes_reject_or_warn_only() -> None:
    from rollgate.domain.shared.errors import InvalidRequest
    from rollgate.domain.shared.models import DeploymentRequest, parse_model

    with pytest.raises(InvalidRequest, match="bypass_invokers"):
        parse_model(DeploymentRequest, request_for(bypass_invokers="ignore"), "request")
