"""DynamoLedger: leases (one deployment per alias), abort flags and the deployment history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from rollgate.aws.ledger import DynamoLedger
from rollgate.contract import Status
from rollgate.domain.shared.errors import DeploymentInProgress, ThrottledError
from rollgate.domain.shared.ports import Lease
from rollgate.domain.shared.records import DeploymentRecord

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ledger(dynamodb_client, ledger_table, clock) -> DynamoLedger:
    return DynamoLedger(dynamodb_client, ledger_table, clock)


def lease(holder: str, at: datetime = T0, minutes: int = 60, alias: str = "live") -> Lease:
    return Lease(
        function_name="orders",
        alias=alias,
        holder=holder,
        acquired_at=at,
        expires_at=at + timedelta(minutes=minutes),
        detail={"release_id": "r-1"},
    )


# --------------------------------------------------------------------------- leases
def test_acquire_then_a_second_holder_is_refused_with_the_holder_named(ledger):
    # given deployment d-1 holds the lease
    assert ledger.acquire_lease(lease("d-1")).holder == "d-1"

    # when d-2 tries, then it is told who holds it, since when and until when
    with pytest.raises(DeploymentInProgress) as refused:
        ledger.acquire_lease(lease("d-2", at=T0 + timedelta(minutes=5)))
    message = str(refused.value)
    assert "orders:live is being deployed by d-1" in message
    assert "since 2030-05-01T12:00:00" in message
    assert "lease expires 2030-05-01T13:00:00" in message

    # and the lease is unchanged
    current = ledger.current_lease("orders", "live")
    assert current is not None
    assert (current.holder, current.acquired_at, current.detail) == ("d-1", T0, {"release_id": "r-1"})


def test_same_holder_reacquires(ledger):
    ledger.acquire_lease(lease("d-1"))

    again = ledger.acquire_lease(lease("d-1", at=T0 + timedelta(minutes=1)))

    assert again.holder == "d-1"
    assert ledger.current_lease("orders", "live").holder == "d-1"


def test_expired_lease_is_taken_over(ledger, clock):
    ledger.acquire_lease(lease("d-1", minutes=60))
    clock.at = T0 + timedelta(minutes=61)

    taken = ledger.acquire_lease(lease("d-2", at=clock.at))

    assert taken.holder == "d-2"
    assert ledger.current_lease("orders", "live").holder == "d-2"


def test_leases_are_per_alias(ledger):
    ledger.acquire_lease(lease("d-1", alias="live"))

    assert ledger.acquire_lease(lease("d-2", alias="beta")).holder == "d-2"


def test_release_is_idempotent_and_only_by_the_holder(ledger):
    ledger.acquire_lease(lease("d-1"))

    assert ledger.release_lease("orders", "live", "d-2") is False
    assert ledger.current_lease("orders", "live").holder == "d-1"
    assert ledger.release_lease("orders", "live", "d-1") is True
    assert ledger.release_lease("orders", "live", "d-1") is False
    assert ledger.current_lease("orders", "live") is None

    # and the alias is free again
    assert ledger.acquire_lease(lease("d-2")).holder == "d-2"


def test_current_lease_ignores_an_expired_one(ledger, clock):
    ledger.acquire_lease(lease("d-1", minutes=10))
    clock.at = T0 + timedelta(minutes=11)

    assert ledger.current_lease("orders", "live") is None


def test_lease_item_carries_ttl(ledger, dynamodb_client, ledger_table):
    ledger.acquire_lease(lease("d-1", minutes=60))

    item = dynamodb_client.get_item(
        TableName=ledger_table, Key={"pk": {"S": "LEASE#orders#live"}, "sk": {"S": "LEASE"}}
    )["Item"]

    assert int(item["ttl"]["N"]) == int((T0 + timedelta(minutes=60)).timestamp())


def test_accepts_a_dynamodb_resource(aws, ledger_table, clock):
    ledger = DynamoLedger(boto3.resource("dynamodb", region_name="us-east-1"), ledger_table, clock)

    assert ledger.acquire_lease(lease("d-1")).holder == "d-1"
    with pytest.raises(DeploymentInProgress, match="being deployed by d-1"):
        ledger.acquire_lease(lease("d-2"))
    ledger.put_deployment(record("d-1"))
    assert [r.deployment_id for r in ledger.list_deployments("orders")] == ["d-1"]


def test_throttled_write_is_translated(ledger, dynamodb_client, monkeypatch):
    def throttled(**_kwargs):
        raise ClientError(
            {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "PutItem",
        )

    monkeypatch.setattr(dynamodb_client, "put_item", throttled)

    with pytest.raises(ThrottledError, match="dynamodb:PutItem lease orders:live for d-1 failed"):
        ledger.acquire_lease(lease("d-1"))


# --------------------------------------------------------------------------- abort flags
def test_abort_flag_round_trip(ledger):
    assert ledger.abort_requested("orders", "live") is None

    ledger.request_abort("orders", "live", "alarm orders-errors is in ALARM")

    assert ledger.abort_requested("orders", "live") == "alarm orders-errors is in ALARM"
    assert ledger.abort_requested("orders", "beta") is None
    ledger.clear_abort("orders", "live")
    assert ledger.abort_requested("orders", "live") is None
    ledger.clear_abort("orders", "live")  # idempotent


def test_abort_for_the_running_deployment_survives_its_reruns(ledger, clock):
    ledger.acquire_lease(lease("d-1"))
    clock.at = T0 + timedelta(minutes=5)
    ledger.request_abort("orders", "live", "stop")

    # a retry or redrive of d-1 takes the lease as of its execution's start (domain.start), so the
    # abort asked since then is still meant for it
    ledger.acquire_lease(lease("d-1"))

    assert ledger.abort_requested("orders", "live") == "stop"


def test_a_retried_acquire_clears_the_stale_abort_its_first_attempt_did_not(ledger, clock):
    # given an abort from before d-1 started, and d-1's first attempt wrote the lease but failed
    # to clear the flag (the retry re-enters as the same holder)
    clock.at = T0 - timedelta(minutes=5)
    ledger.request_abort("orders", "live", "meant for d-0")
    clock.at = T0
    ledger.acquire_lease(lease("d-1"))
    ledger.request_abort("orders", "live", "meant for d-0")  # as if the first clear never happened
    ledger._db.call(
        "update_item",
        TableName=ledger.table_name,
        Key={"pk": "LEASE#orders#live", "sk": "ABORT"},
        UpdateExpression="SET requested_at = :old",
        ExpressionAttributeValues={":old": (T0 - timedelta(minutes=5)).isoformat(timespec="microseconds")},
    )

    ledger.acquire_lease(lease("d-1"))

    assert ledger.abort_requested("orders", "live") is None


def test_a_stale_abort_does_not_stop_the_next_deployment(ledger, clock):
    # given an abort asked of d-1, which then finished without clearing it
    ledger.acquire_lease(lease("d-1"))
    clock.at = T0 + timedelta(minutes=5)
    ledger.request_abort("orders", "live", "stop d-1")
    ledger.release_lease("orders", "live", "d-1")

    # when d-2 takes the lease later
    clock.at = T0 + timedelta(minutes=30)
    ledger.acquire_lease(lease("d-2", at=clock.at))

    # then d-2 is not told to abort
    assert ledger.abort_requested("orders", "live") is None


# --------------------------------------------------------------------------- deployments
def record(
    deployment_id: str, alias: str = "live", status: Status = Status.PROMOTED, minute: int = 0
) -> DeploymentRecord:
    return DeploymentRecord(
        deployment_id=deployment_id,
        function_name="orders",
        alias=alias,
        status=status,
        from_version="1",
        to_version="2",
        code_sha256="sha=",
        reason="healthy",
        release_id="r-1",
        started_at=T0 + timedelta(minutes=minute),
        finished_at=T0 + timedelta(minutes=minute + 10),
        evidence={"canary": [{"check": "errors", "ok": True, "detail": "0.2% vs 0.3%", "data": {"rate": 0.002}}]},
    )


def test_put_and_get_a_deployment(ledger):
    ledger.put_deployment(record("20300501T120000Z-aaaa"))

    stored = ledger.get_deployment("orders", "live", "20300501T120000Z-aaaa")

    assert stored is not None
    assert isinstance(stored, DeploymentRecord)
    assert stored.status is Status.PROMOTED
    assert stored.started_at == T0
    assert stored.evidence["canary"][0].data == {"rate": 0.002}
    assert stored.result().to_version == "2"
    assert ledger.get_deployment("orders", "live", "nope") is None


def test_put_deployment_overwrites_idempotently(ledger):
    ledger.put_deployment(record("d-1", status=Status.PROMOTED))
    ledger.put_deployment(record("d-1", status=Status.ROLLED_BACK))

    history = ledger.list_deployments("orders", "live")

    assert [(r.deployment_id, r.status) for r in history] == [("d-1", "ROLLED_BACK")]


def test_deployment_item_has_readable_scalar_attributes(ledger, dynamodb_client, ledger_table):
    ledger.put_deployment(record("d-1"))

    item = dynamodb_client.get_item(
        TableName=ledger_table, Key={"pk": {"S": "DEPLOY#orders#live"}, "sk": {"S": "DEPLOY#d-1"}}
    )["Item"]

    assert {name: value["S"] for name, value in item.items() if name != "document"} == {
        "pk": "DEPLOY#orders#live",
        "sk": "DEPLOY#d-1",
        "gsi1pk": "FN#orders",
        "gsi1sk": "d-1",
        "deployment_id": "d-1",
        "function_name": "orders",
        "alias": "live",
        "kind": "deployment",
        "status": "PROMOTED",
        "from_version": "1",
        "to_version": "2",
        # the JSON form of the record's datetimes, as Record has always written them
        "started_at": "2030-05-01T12:00:00Z",
        "finished_at": "2030-05-01T12:10:00Z",
        "release_id": "r-1",
    }


def test_history_newest_first_by_alias_and_by_function(ledger):
    # given deployments on two aliases, written out of order
    for deployment_id, alias in [
        ("20300501-02", "live"),
        ("20300501-01", "live"),
        ("20300501-04", "beta"),
        ("20300501-03", "live"),
    ]:
        ledger.put_deployment(record(deployment_id, alias=alias))
    ledger.acquire_lease(lease("20300501-05"))  # a lease item must not show up as history

    by_alias = ledger.list_deployments("orders", "live")
    by_function = ledger.list_deployments("orders")

    assert [r.deployment_id for r in by_alias] == ["20300501-03", "20300501-02", "20300501-01"]
    assert [r.deployment_id for r in by_function] == ["20300501-04", "20300501-03", "20300501-02", "20300501-01"]
    assert [r.deployment_id for r in ledger.list_deployments("orders", "live", limit=2)] == [
        "20300501-03",
        "20300501-02",
    ]
    assert [r.deployment_id for r in ledger.list_deployments("orders", limit=1)] == ["20300501-04"]
    assert ledger.list_deployments("payments") == []


def test_put_outcome_writes_once_per_deployment_and_answers_the_stored_one(ledger):
    # given Record wrote PROMOTED for d-1, then its retry decided again (a later clock, say)
    first = ledger.put_outcome(record("d-1", status=Status.PROMOTED))
    again = ledger.put_outcome(record("d-1", status=Status.FAILED))

    # then the first outcome stands, and the retry concludes on it
    assert first.status == again.status == "PROMOTED"
    assert [r.status for r in ledger.list_deployments("orders", "live")] == ["PROMOTED"]
