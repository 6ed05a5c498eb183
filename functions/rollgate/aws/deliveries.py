"""DeliveryLog: which webhook deliveries were already accepted, in the Ledger table.

GitHub retries a delivery it thinks failed, and people press "Redeliver"; each delivery id must
start at most one release. One item per accepted delivery, expired by DynamoDB TTL:

    delivery     pk=DELIVERY#<delivery id>   sk=DELIVERY   received_at=<ISO 8601>   ttl=<epoch s>
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.domain.shared.ports import Clock

DELIVERY_SK = "DELIVERY"
#: Longer than GitHub keeps deliveries redeliverable (3 days), so a late redelivery is still a duplicate.
DELIVERY_TTL_SECONDS = 7 * 24 * 3600
_CONDITION_FAILED = "ConditionalCheckFailedException"


def delivery_pk(delivery_id: str) -> str:
    return f"DELIVERY#{delivery_id}"


class DeliveryLog:
    """Claims on webhook delivery ids, over a low-level DynamoDB client."""

    def __init__(self, client: Any, table_name: str, clock: Clock, *, ttl_seconds: int = DELIVERY_TTL_SECONDS) -> None:
        self._client = client
        self.table_name = table_name
        self._clock = clock
        self._ttl_seconds = ttl_seconds

    def claim(self, delivery_id: str) -> bool:
        """Record the delivery as accepted: True when this call claimed it, False when it had been
        claimed before (a duplicate). One conditional PutItem, so two concurrent deliveries of the
        same id cannot both win."""
        now = self._clock.now().astimezone(UTC)
        item = {
            "pk": {"S": delivery_pk(delivery_id)},
            "sk": {"S": DELIVERY_SK},
            "delivery_id": {"S": delivery_id},
            "received_at": {"S": now.isoformat(timespec="microseconds")},
            "ttl": {"N": str(int(now.timestamp()) + self._ttl_seconds)},
        }
        with translate_client_errors(f"dynamodb:PutItem delivery {delivery_id}"):
            try:
                self._client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as error:
                if error_code(error) == _CONDITION_FAILED:
                    return False
                raise
        return True

    def release(self, delivery_id: str) -> None:
        """Forget the claim (the release event could not be published), so that GitHub's
        redelivery of the same id is accepted instead of dropped as a duplicate."""
        with translate_client_errors(f"dynamodb:DeleteItem delivery {delivery_id}"):
            self._client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": delivery_pk(delivery_id)}, "sk": {"S": DELIVERY_SK}},
            )
