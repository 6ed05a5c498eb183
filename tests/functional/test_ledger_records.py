"""The ledger's typed records through DynamoLedger on moto: each kind written and read back as
itself, an item older than the `kind` discriminator read as a deployment, a newer writer's kind
kept whole, and a status of another workflow refused naming the field and the item."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rollgate.aws.ledger import DynamoLedger
from rollgate.contract import Status
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import Evidence
from rollgate.domain.shared.records import (
    DeploymentRecord,
    FunctionOutcome,
    ReconcileNote,
    ReleaseRecord,
    RemediationRecord,
    UnknownRecord,
    ledger_record,
)

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return T0


@pytest.fixture
def ledger(dynamodb_client, ledger_table) -> DynamoLedger:
    return DynamoLedger(dynamodb_client, ledger_table, _Clock())


def _deployment(deployment_id: str = "20300501T120000Z-deploy", **fields) -> DeploymentRecord:
    values = {
        "deployment_id": deployment_id,
        "function_name": "orders",
        "alias": "live",
        "status": Status.PROMOTED,
        "from_version": "1",
        "to_version": "2",
        "reason": "v2 promoted after a healthy canary",
        "started_at": T0,
        "finished_at": T0 + timedelta(minutes=10),
        "evidence": {"canary": [Evidence(check="errors", ok=True, detail="0.2% vs 0.3%", data={"rate": 0.002})]},
        "execution_arn": "arn:aws:states:eu-west-1:123456789012:execution:DeployFunction:deploy",
        "request": {"function_name": "orders", "smoke_tests": [{"name": "ping", "payload": {}}]},
        **fields,
    }
    return DeploymentRecord(**values)


def _put_item(dynamodb_client, table: str, document: dict, sk: str = "DEPLOY#20300501T110000Z-old") -> None:
    dynamodb_client.put_item(
        TableName=table,
        Item={
            "pk": {"S": "DEPLOY#orders#live"},
            "sk": {"S": sk},
            "gsi1pk": {"S": "FN#orders"},
            "gsi1sk": {"S": sk.removeprefix("DEPLOY#")},
            "document": {"S": json.dumps(document)},
        },
    )


def test_a_deployment_round_trips_as_itself(ledger: DynamoLedger) -> None:
    written = _deployment(event_published=Status.PROMOTED)
    ledger.put_deployment(written)

    stored = ledger.get_deployment("orders", "live", written.deployment_id)

    assert isinstance(stored, DeploymentRecord)
    assert stored == written
    assert stored.document() == written.document()


def test_a_reconciled_deployment_round_trips_with_what_reconcile_did(ledger: DynamoLedger) -> None:
    written = _deployment(
        status=Status.ABORTED,
        to_version=None,
        reconciled=ReconcileNote(found=["lease held by d"], did=["alias live put back on v1"]),
    )
    ledger.put_deployment(written)

    (stored,) = ledger.list_deployments("orders", "live")

    assert isinstance(stored, DeploymentRecord) and stored.status is Status.ABORTED
    assert stored.reconciled == written.reconciled


def test_a_remediation_round_trips_in_the_same_history(ledger: DynamoLedger, dynamodb_client, ledger_table) -> None:
    ledger.put_deployment(_deployment())
    remediation = RemediationRecord(
        deployment_id="20300501T130000Z-remediate",
        function_name="orders",
        alias="live",
        status=Status.ROLLED_BACK,
        from_version="2",
        to_version="1",
        reason="alarm orders-errors is ALARM",
        trigger="alarm",
        started_at=T0 + timedelta(hours=1),
        finished_at=T0 + timedelta(hours=1, minutes=1),
        evidence={"remediation": [Evidence(check="assessment", ok=True, detail="rolling back")]},
        alarm={"name": "orders-errors", "state": "ALARM"},
    )
    ledger.put_deployment(remediation)

    newest, older = ledger.list_deployments("orders", "live")

    assert isinstance(newest, RemediationRecord) and newest == remediation
    assert isinstance(older, DeploymentRecord)
    assert "taken_over" not in newest.document()  # an optional field left out stays out
    item = dynamodb_client.get_item(
        TableName=ledger_table,
        Key={"pk": {"S": "DEPLOY#orders#live"}, "sk": {"S": "DEPLOY#20300501T130000Z-remediate"}},
    )["Item"]
    # the attributes a person reads in the console, as remediations have always written them
    assert (item["kind"]["S"], item["started_at"]["S"]) == ("remediation", "2030-05-01T13:00:00+00:00")


def test_a_release_run_round_trips(ledger: DynamoLedger, dynamodb_client, ledger_table) -> None:
    release = ReleaseRecord(
        release_id="shop@abc",
        execution_name="release-1",
        status=Status.ROLLED_BACK,
        atomic=True,
        reason="payments-api:live ROLLED_BACK",
        started_at=T0,
        finished_at=T0 + timedelta(minutes=30),
        functions=[
            FunctionOutcome(function_name="payments-api", alias="live", wave=0, status=Status.ROLLED_BACK),
            FunctionOutcome(function_name="orders-api", alias="live", wave=1, status=Status.NOT_STARTED),
        ],
        error_name="ReleaseRolledBack",
    )
    ledger.put_release(release)

    (item,) = dynamodb_client.scan(TableName=ledger_table)["Items"]
    stored = ledger_record(json.loads(item["document"]["S"]))

    assert item["status"]["S"] == "ROLLED_BACK" and item["sk"]["S"].startswith("RUN#")
    assert isinstance(stored, ReleaseRecord) and stored == release


def test_an_item_written_before_the_kind_discriminator_loads_as_a_deployment(
    ledger: DynamoLedger, dynamodb_client, ledger_table
) -> None:
    old = _deployment("20300501T110000Z-old").document()
    del old["kind"], old["request"], old["execution_arn"]
    _put_item(dynamodb_client, ledger_table, old)

    (stored,) = ledger.list_deployments("orders", "live")

    assert isinstance(stored, DeploymentRecord) and stored.kind == "deployment"
    assert stored.deployment_id == "20300501T110000Z-old" and stored.request is None


def test_a_newer_writers_kind_loads_whole(ledger: DynamoLedger, dynamodb_client, ledger_table) -> None:
    newer = {
        "kind": "freeze",
        "deployment_id": "20300501T110000Z-freeze",
        "function_name": "orders",
        "alias": "live",
        "status": "FROZEN",
        "reason": "change freeze",
        "until": "2030-05-02",
    }
    _put_item(dynamodb_client, ledger_table, newer, sk="DEPLOY#20300501T110000Z-freeze")

    (stored,) = ledger.list_deployments("orders", "live")

    assert isinstance(stored, UnknownRecord) and stored.status == "FROZEN"
    assert stored.document()["until"] == "2030-05-02"


def test_a_deployment_cannot_say_released() -> None:
    with pytest.raises(ValueError, match="status") as caught:
        _deployment(status=Status.RELEASED)
    assert "RELEASED is not an outcome of a deployment" in str(caught.value)


def test_a_stored_item_with_another_workflows_status_is_refused_naming_the_item_and_field(
    ledger: DynamoLedger, dynamodb_client, ledger_table
) -> None:
    wrong = {**_deployment("20300501T110000Z-old").document(), "status": "RELEASED"}
    _put_item(dynamodb_client, ledger_table, wrong)

    with pytest.raises(InvalidRequest) as caught:
        ledger.list_deployments("orders", "live")

    message = str(caught.value)
    assert "DEPLOY#orders#live DEPLOY#20300501T110000Z-old (deployment)" in message
    assert "status: RELEASED is not an outcome of a deployment" in message


def test_a_remediation_cannot_say_promoted() -> None:
    with pytest.raises(InvalidRequest, match=r"\(remediation\): status: PROMOTED is not an outcome of a remediation"):
        ledger_record(
            {
                "kind": "remediation",
                "deployment_id": "r",
                "function_name": "orders",
                "alias": "live",
                "status": "PROMOTED",
                "reason": "r",
                "trigger": "manual",
                "started_at": "2030-05-01T12:00:00Z",
                "finished_at": "2030-05-01T12:00:00Z",
            }
        )
