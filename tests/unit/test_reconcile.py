"""Reconcile on fakes: after an execution ended without finishing its own work, the alias routes
100% to one version, the lease is free, the deployment has one outcome and one event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rollgate.domain.deploy.reconcile import PAGE_DETAIL_TYPE, ReconcileRequest, page, reconcile
from rollgate.domain.shared.errors import RollbackFailed
from rollgate.domain.shared.ports import Lease
from tests.unit.conftest import World, drive, request_for

STOPPED = "arn:aws:states:eu-west-1:123456789012:execution:DeployFunction:next"


def _routing(world: World) -> tuple[str, dict[str, float]]:
    routing = world.lambda_api.get_alias("orders-api", "live")
    return routing.version, routing.additional_weights


def _set_alias(world: World, version: str, weights: dict[str, float]) -> None:
    current = world.lambda_api.get_alias("orders-api", "live")
    world.lambda_api.update_alias(
        "orders-api", "live", version=version, additional_weights=weights, revision_id=current.revision_id
    )


def _mid_canary(world: World, holder: str = "20260301T100000Z-next") -> None:
    """v2 promoted and recorded; then a deployment of v3 took the lease and put 10% on v3."""
    assert drive(world, request_for())["status"] == "PROMOTED"
    now = world.clock.now()
    world.ledger.acquire_lease(
        Lease("orders-api", "live", holder, now, now + timedelta(hours=1), {"execution_arn": STOPPED})
    )
    _set_alias(world, "2", {"3": 0.1})
    world.events.published.clear()


def _run(world: World, status: str | None, *, running: bool = False, execution_status: str | None = "ABORTED"):
    return reconcile(
        ReconcileRequest(function_name="orders-api", alias="live", execution_status=execution_status),
        ledger=world.ledger,
        lambda_api=world.lambda_api,
        events=world.events,
        clock=world.clock,
        executions=_Executions("RUNNING" if running else status),
    )


class _Executions:
    def __init__(self, status: str | None, baseline: str | None = None) -> None:
        self._status, self._baseline = status, baseline

    def status(self, execution_arn: str) -> str | None:
        return self._status

    def baseline_version(self, execution_arn: str) -> str | None:
        return self._baseline


def test_a_stopped_canary_is_put_back_recorded_announced_and_unlocked(world: World) -> None:
    _mid_canary(world)

    report = _run(world, "ABORTED")

    assert report.status == "RECONCILED"
    assert report.outcome_written == "ABORTED"  # counted as a deployment outcome (dashboard, alarms)
    assert _routing(world) == ("2", {})
    assert world.ledger.leases == {}
    record = world.ledger.deployments["20260301T100000Z-next"]
    assert record["status"] == "ABORTED"
    assert (record["from_version"], record["to_version"]) == ("2", "3")
    assert "put back on v2" in record["reason"]
    assert [t for t, _ in world.events.published] == ["Deployment Aborted"]


def test_a_second_run_finds_nothing_to_do(world: World) -> None:
    _mid_canary(world)
    _run(world, "ABORTED")

    again = _run(world, "ABORTED")

    assert again.status == "NOTHING_TO_DO"
    assert [t for t, _ in world.events.published] == ["Deployment Aborted"]
    assert _routing(world) == ("2", {})


def test_the_lease_of_a_running_execution_is_left_alone(world: World) -> None:
    _mid_canary(world)

    report = _run(world, None, running=True)

    assert report.status == "HOLDER_RUNNING"
    assert _routing(world) == ("2", {"3": 0.1})
    assert ("orders-api", "live") in world.ledger.leases
    assert world.events.published == []


def test_a_promotion_recorded_before_the_lease_release_failed_stands(world: World) -> None:
    # given Record wrote PROMOTED v3 and announced it, then could not release the lease
    _mid_canary(world)
    holder = "20260301T100000Z-next"
    _set_alias(world, "3", {})
    world.ledger.put_deployment(
        {
            "deployment_id": holder,
            "function_name": "orders-api",
            "alias": "live",
            "kind": "deployment",
            "status": "PROMOTED",
            "from_version": "2",
            "to_version": "3",
            "reason": "v3 promoted",
            "started_at": world.clock.now().isoformat(),
            "finished_at": world.clock.now().isoformat(),
            "event_published": "PROMOTED",
        }
    )

    report = _run(world, "FAILED", execution_status="FAILED")

    assert _routing(world) == ("3", {})
    assert world.ledger.leases == {}
    assert world.ledger.deployments[holder]["status"] == "PROMOTED"
    assert world.events.published == []
    assert report.did == [f"lease of {holder} released"]


def test_a_whole_alias_on_another_version_without_a_lease_is_a_persons_choice(world: World) -> None:
    assert drive(world, request_for())["status"] == "PROMOTED"
    _set_alias(world, "1", {})
    world.events.published.clear()

    assert _run(world, "FAILED").status == "NOTHING_TO_DO"
    assert _routing(world) == ("1", {})


def test_when_it_cannot_act_it_pages(world: World) -> None:
    request = ReconcileRequest(function_name="orders-api", alias="live")

    page(request, RollbackFailed("lambda:UpdateAlias orders-api:live: AccessDenied"), events=world.events)

    ((detail_type, detail),) = world.events.published
    assert detail_type == PAGE_DETAIL_TYPE
    assert "rollgate reconcile --function orders-api --alias live" in detail["message"]


@pytest.mark.parametrize("field", ["function_name", "alias"])
def test_a_bad_request_names_the_field(field: str) -> None:
    from rollgate.domain.shared.errors import InvalidRequest
    from rollgate.domain.shared.models import parse_model

    raw = {"function_name": "orders-api", "alias": "live", field: "bad name\n"}
    with pytest.raises(InvalidRequest, match=field):
        parse_model(ReconcileRequest, raw, "reconcile")


def _status_change(status: str, input_text: str) -> dict:
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"status": status, "executionArn": STOPPED, "input": input_text},
    }


def test_an_execution_that_ended_early_names_what_to_reconcile() -> None:
    from rollgate.domain.deploy.reconcile import request_from_status_change

    request = request_from_status_change(
        _status_change("TIMED_OUT", '{"function_name": "orders-api", "alias": "beta"}')
    )

    assert request is not None
    assert (request.function_name, request.alias, request.execution_status) == ("orders-api", "beta", "TIMED_OUT")
    assert request.execution_arn == STOPPED


@pytest.mark.parametrize(
    ("status", "input_text"),
    [("SUCCEEDED", '{"function_name": "orders-api"}'), ("FAILED", "[1, 2]"), ("FAILED", "{"), ("ABORTED", "{}")],
)
def test_other_ends_and_inputs_naming_no_function_are_not_acted_on(status: str, input_text: str) -> None:
    from rollgate.domain.deploy.reconcile import request_from_status_change

    assert request_from_status_change(_status_change(status, input_text)) is None


# --------------------------------------------------------------------------- the execution's own Reconcile
HOLDER = "20260301T100000Z-next"


def _own_context(world: World, **errors: dict) -> Any:
    """The state of the holder's execution as its Reconcile step receives it: v2 was its baseline."""
    from rollgate.domain.shared.models import Baseline, DeploymentContext

    now = world.clock.now()
    return DeploymentContext(
        request=request_for(),
        deployment_id=HOLDER,
        started_at=now,
        execution_arn=STOPPED,
        baseline=Baseline(
            captured_at=now, live_version="2", live_code_sha256="x", alias_revision_id="r", function_revision_id="f"
        ),
        **errors,
    )


def _from_the_execution(world: World, ctx: Any) -> dict:
    from rollgate.domain.deploy.reconcile import reconcile_from_the_execution

    # the execution itself still runs (it is the one asking): that does not hold reconcile back
    return reconcile_from_the_execution(
        ctx,
        ledger=world.ledger,
        lambda_api=world.lambda_api,
        events=world.events,
        clock=world.clock,
        executions=_Executions("RUNNING"),
    )


def test_a_rollback_failing_past_its_retries_is_put_right_by_the_executions_own_reconcile(world: World) -> None:
    # given a canary of v3 on the alias, and Rollback failed past its retries
    _mid_canary(world)
    ctx = _own_context(world, rollback_error={"Error": "RollbackFailed", "Cause": "lambda:UpdateAlias AccessDenied"})

    answer = _from_the_execution(world, ctx)

    # then the alias is back on the baseline, one FAILED outcome says why and what was done, one
    # event, the lease released, and the answer is what Record would have given the state machine
    assert _routing(world) == ("2", {})
    assert world.ledger.leases == {}
    record = world.ledger.deployments[HOLDER]
    assert record["status"] == "FAILED" and (record["from_version"], record["to_version"]) == ("2", "3")
    assert record["reason"].startswith("Rollback failed past its retries (RollbackFailed: lambda:UpdateAlias")
    assert "put back on v2" in record["reason"]
    assert [t for t, _ in world.events.published] == ["Deployment Failed"]
    assert (answer["status"], answer["error_name"]) == ("FAILED", "DeploymentFailed")
    assert f"lease of {HOLDER} released" in answer["reconciled"]["did"]


def test_a_promotion_whose_lease_release_failed_concludes_promoted(world: World) -> None:
    # given Record wrote PROMOTED v3 and announced it, then ReleaseLease failed past its retries
    _mid_canary(world)
    _set_alias(world, "3", {})
    world.ledger.put_deployment(
        {
            "deployment_id": HOLDER,
            "function_name": "orders-api",
            "alias": "live",
            "kind": "deployment",
            "status": "PROMOTED",
            "from_version": "2",
            "to_version": "3",
            "reason": "v3 promoted",
            "started_at": world.clock.now().isoformat(),
            "finished_at": world.clock.now().isoformat(),
            "event_published": "PROMOTED",
        }
    )
    ctx = _own_context(world, record_error={"Error": "TransientAwsError", "Cause": "dynamodb:DeleteItem 5xx"})

    answer = _from_the_execution(world, ctx)

    # then the promotion stands, the lease is free, nothing is announced twice, the execution succeeds
    assert _routing(world) == ("3", {})
    assert world.ledger.leases == {}
    assert world.events.published == []
    assert (answer["status"], answer["error_name"]) == ("PROMOTED", None)


def test_a_second_in_execution_reconcile_finds_its_own_record_without_a_lease(world: World) -> None:
    _mid_canary(world)
    ctx = _own_context(world, record_error={"Error": "TransientAwsError", "Cause": "dynamodb:PutItem 5xx"})
    first = _from_the_execution(world, ctx)

    again = _from_the_execution(world, ctx)

    assert again["status"] == first["status"] == "FAILED"
    assert again["reconciled"]["status"] == "NOTHING_TO_DO"
    assert [t for t, _ in world.events.published] == ["Deployment Failed"]
