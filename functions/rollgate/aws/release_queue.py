"""The release queues (rollgate.domain.release.queue.QueueStore) in the ledger table:

    ticket   pk=QUEUE#<application>#<branch>   sk=TICKET#<release start>#<execution name>
    slot     pk=QUEUE#<application>#<branch>   sk=SLOT   (the release running now)

A ticket is written once (attribute_not_exists) and deleted by RecordRelease; the slot is taken
with a conditional PutItem (free, ours, or still held by a holder seen to have ended) and given
back with a conditional DeleteItem (ours only). Both carry a TTL far past any release, so an item
nothing deleted does not stay for ever (the queue never waits on one: it asks whether its
execution still runs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.aws.ledger import _Dynamo, _iso, _s
from rollgate.domain.release.queue import TICKET_TTL, Slot, Ticket

QUEUE_PREFIX = "QUEUE#"
TICKET_PREFIX = "TICKET#"
SLOT_SK = "SLOT"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def queue_pk(queue: str) -> str:
    return QUEUE_PREFIX + queue


def _when(item: dict[str, Any], name: str) -> datetime:
    return datetime.fromisoformat(_s(item, name) or "1970-01-01T00:00:00+00:00")


class DynamoReleaseQueue:
    """QueueStore over a DynamoDB client (or resource) and the ledger table."""

    def __init__(self, client_or_resource: Any, table_name: str) -> None:
        self._db = _Dynamo(client_or_resource)
        self.table_name = table_name

    def join(self, queue: str, ticket: Ticket) -> None:
        item: dict[str, Any] = {
            "pk": queue_pk(queue),
            "sk": TICKET_PREFIX + ticket.position,
            "execution_name": ticket.execution_name,
            "release_id": ticket.release_id,
            "policy": ticket.policy,
            "joined_at": _iso(ticket.joined_at),
            "ttl": int((ticket.joined_at + TICKET_TTL).timestamp()),
        }
        for name in ("execution_arn", "commit"):
            if (value := getattr(ticket, name)) is not None:
                item[name] = value
        with translate_client_errors(f"dynamodb:PutItem queue {queue} ticket {ticket.execution_name}"):
            try:
                self._db.call(
                    "put_item", TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(sk)"
                )
            except ClientError as error:
                if error_code(error) != _CONDITION_FAILED:  # there already: a retried step keeps its first
                    raise

    def tickets(self, queue: str) -> list[Ticket]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": queue_pk(queue), ":prefix": TICKET_PREFIX},
            "ConsistentRead": True,
        }
        found: list[Ticket] = []
        with translate_client_errors(f"dynamodb:Query queue {queue}"):
            while True:
                response = self._db.call("query", TableName=self.table_name, **query)
                found.extend(_ticket(item) for item in response.get("Items", []))
                if not response.get("LastEvaluatedKey"):
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(found, key=lambda t: t.position)

    def slot(self, queue: str) -> Slot | None:
        with translate_client_errors(f"dynamodb:GetItem queue {queue} slot"):
            response = self._db.call(
                "get_item", TableName=self.table_name, Key={"pk": queue_pk(queue), "sk": SLOT_SK}, ConsistentRead=True
            )
        item = response.get("Item")
        if not item:
            return None
        return Slot(
            holder=_s(item, "holder") or "",
            execution_arn=_s(item, "execution_arn"),
            release_id=_s(item, "release_id") or "",
            acquired_at=_when(item, "acquired_at"),
            position=_s(item, "position") or "",
        )

    def take_slot(self, queue: str, slot: Slot, *, replacing: str | None) -> bool:
        item: dict[str, Any] = {
            "pk": queue_pk(queue),
            "sk": SLOT_SK,
            "holder": slot.holder,
            "release_id": slot.release_id,
            "acquired_at": _iso(slot.acquired_at),
            "position": slot.position,
            "ttl": int((slot.acquired_at + TICKET_TTL).timestamp()),
        }
        if slot.execution_arn:
            item["execution_arn"] = slot.execution_arn
        condition = "attribute_not_exists(pk) OR holder = :me"
        values = {":me": slot.holder}
        if replacing:
            condition += " OR holder = :ended"
            values[":ended"] = replacing
        with translate_client_errors(f"dynamodb:PutItem queue {queue} slot for {slot.holder}"):
            try:
                self._db.call(
                    "put_item",
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if error_code(error) == _CONDITION_FAILED:
                    return False
                raise
        return True

    def remove_ticket(self, queue: str, position: str) -> None:
        with translate_client_errors(f"dynamodb:DeleteItem queue {queue} ticket {position}"):
            self._db.call(
                "delete_item", TableName=self.table_name, Key={"pk": queue_pk(queue), "sk": TICKET_PREFIX + position}
            )

    def release_slot(self, queue: str, holder: str) -> bool:
        with translate_client_errors(f"dynamodb:DeleteItem queue {queue} slot of {holder}"):
            try:
                self._db.call(
                    "delete_item",
                    TableName=self.table_name,
                    Key={"pk": queue_pk(queue), "sk": SLOT_SK},
                    ConditionExpression="holder = :me",
                    ExpressionAttributeValues={":me": holder},
                )
            except ClientError as error:
                if error_code(error) == _CONDITION_FAILED:
                    return False
                raise
        return True


def _ticket(item: dict[str, Any]) -> Ticket:
    policy = _s(item, "policy")
    return Ticket(
        position=(_s(item, "sk") or "").removeprefix(TICKET_PREFIX),
        execution_name=_s(item, "execution_name") or "",
        execution_arn=_s(item, "execution_arn"),
        release_id=_s(item, "release_id") or "",
        commit=_s(item, "commit"),
        policy="supersede" if policy == "supersede" else "queue",
        joined_at=_when(item, "joined_at"),
    )
