"""DynamoLedger for a function in another account or region: keyed by its full ARN, so the same
name in several places never shares a lease or a history, while home keys stay as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollgate.aws.ledger import DynamoLedger
from rollgate.domain.shared.ports import Lease

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
REMOTE = "arn:aws:lambda:eu-west-1:222222222222:function:orders"


class FakeClock:
    def now(self) -> datetime:
        return T0


def lease(holder: str) -> Lease:
    return Lease(
        function_name="orders",
        alias="live",
        holder=holder,
        acquired_at=T0,
        expires_at=T0 + timedelta(minutes=60),
        detail={},
    )


def test_a_remote_functions_lease_is_keyed_by_its_arn_and_never_collides_with_home(dynamodb_client, ledger_table):
    ledger = DynamoLedger(dynamodb_client, ledger_table, FakeClock())
    # given the home `orders` is being deployed
    ledger.acquire_lease(lease("d-home"))

    # when `orders` in another account and region is deployed through its ARN-keyed view
    remote = ledger.for_function("orders", REMOTE)
    assert remote.acquire_lease(lease("d-remote")).holder == "d-remote"

    # then each holds its own lease, the remote one under LEASE#<arn>#<alias>, the home key unchanged
    assert ledger.current_lease("orders", "live").holder == "d-home"
    assert remote.current_lease("orders", "live").holder == "d-remote"
    assert ledger.current_lease(REMOTE, "live").holder == "d-remote"  # a release reads it by ARN
    key = {"pk": {"S": f"LEASE#{REMOTE}#live"}, "sk": {"S": "LEASE"}}
    assert dynamodb_client.get_item(TableName=ledger_table, Key=key)["Item"]["holder"]["S"] == "d-remote"
    home_key = {"pk": {"S": "LEASE#orders#live"}, "sk": {"S": "LEASE"}}
    assert dynamodb_client.get_item(TableName=ledger_table, Key=home_key)["Item"]["holder"]["S"] == "d-home"

    # and releasing the remote lease leaves the home one held
    assert remote.release_lease("orders", "live", "d-remote")
    assert ledger.current_lease("orders", "live").holder == "d-home"
    assert remote.current_lease("orders", "live") is None
