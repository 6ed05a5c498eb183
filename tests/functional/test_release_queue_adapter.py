"""DynamoReleaseQueue on moto: tickets written once and read in push order, the slot's conditions
(free, ours, or a holder seen to have ended), giving back only our own place."""

from __future__ import annotations

from datetime import UTC, datetime

from rollgate.aws.release_queue import DynamoReleaseQueue
from rollgate.domain.release.queue import Slot, Ticket, ticket_position

QUEUE = "shop#release/1"
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _ticket(name: str, second: int) -> Ticket:
    started = AT.replace(second=second)
    return Ticket(ticket_position(started, name), name, f"arn:x:{name}", f"r-{name}", "a" * 40, "queue", started)


def _slot(name: str) -> Slot:
    return Slot(name, f"arn:x:{name}", f"r-{name}", AT, position=f"p-{name}")


def test_tickets_are_written_once_and_listed_in_push_order(dynamodb_client, ledger_table: str) -> None:
    store = DynamoReleaseQueue(dynamodb_client, ledger_table)
    store.join(QUEUE, _ticket("b", 5))
    store.join(QUEUE, _ticket("a", 1))
    store.join(QUEUE, _ticket("a", 1))  # a retried step: the first stays
    store.join("shop#release/2", _ticket("c", 2))

    assert [t.execution_name for t in store.tickets(QUEUE)] == ["a", "b"]
    assert store.tickets(QUEUE)[0] == _ticket("a", 1)
    store.remove_ticket(QUEUE, _ticket("a", 1).position)
    store.remove_ticket(QUEUE, _ticket("a", 1).position)  # idempotent
    assert [t.execution_name for t in store.tickets(QUEUE)] == ["b"]


def test_the_slot_is_taken_when_free_ours_or_its_holder_ended(dynamodb_client, ledger_table: str) -> None:
    store = DynamoReleaseQueue(dynamodb_client, ledger_table)
    assert store.slot(QUEUE) is None
    assert store.take_slot(QUEUE, _slot("a"), replacing=None)
    assert store.take_slot(QUEUE, _slot("a"), replacing=None)  # ours already
    assert not store.take_slot(QUEUE, _slot("b"), replacing=None)  # held by a running release
    assert not store.take_slot(QUEUE, _slot("b"), replacing="x")  # not the holder it saw end
    assert store.take_slot(QUEUE, _slot("b"), replacing="a")  # a ended: taken over
    assert store.slot(QUEUE) == _slot("b")

    assert not store.release_slot(QUEUE, "a")  # never another's
    assert store.release_slot(QUEUE, "b")
    assert store.slot(QUEUE) is None
