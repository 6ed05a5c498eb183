"""SqsMessageMover on moto with the local runtime's bridge (patch 32: moto has no message move
tasks): a DLQ's messages moved back to their source at a bounded rate on the runtime clock, a task
listed while it runs and once it has completed, cancelled part way, and the errors a caller sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from rollgate.aws.queues import SqsMessageMover
from rollgate.domain.shared.errors import ConflictError, InvalidRequest, NotFoundError
from rollgate_local.runtime import LocalRuntime


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(seed=3) as local:
        yield local


def _queues(sqs: Any, dead_letters: int) -> tuple[str, str, str, str]:
    """A source queue redriving to a DLQ after one receive, the DLQ holding `dead_letters`."""
    dlq_url = sqs.create_queue(QueueName="consumer-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    source_url = sqs.create_queue(QueueName="consumer-source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for i in range(dead_letters):
        sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=json.dumps({"n": i}),
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
        )
    return dlq_url, dlq_arn, source_url, source_arn


def _visible(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_move_takes_the_dlq_back_to_its_source_at_the_rate_given(runtime: LocalRuntime) -> None:
    # given a DLQ of 20 messages behind a source queue
    sqs = runtime.client("sqs")
    dlq_url, dlq_arn, source_url, source_arn = _queues(sqs, 20)
    mover = SqsMessageMover(sqs)
    # when a move starts at 5 messages a second
    handle = mover.start_message_move(dlq_arn, source_arn, max_per_second=5)
    (running,) = mover.message_moves(dlq_arn)
    # then it runs, with its handle, and has moved nothing yet
    assert (running.status, running.handle, running.moved, running.to_move) == ("RUNNING", handle, 0, 20)
    assert running.max_per_second == 5 and running.destination_arn == source_arn
    # after two seconds of the runtime clock, ten have moved (5 a second), no more
    runtime.clock.sleep(2.0)
    assert mover.message_moves(dlq_arn)[0].moved == 10
    assert (_visible(sqs, dlq_url), _visible(sqs, source_url)) == (10, 10)
    # and after four, all of them: the task is COMPLETED and has no handle any more
    runtime.clock.sleep(2.5)
    (done,) = mover.message_moves(dlq_arn)
    assert (done.status, done.handle, done.moved) == ("COMPLETED", None, 20)
    assert (_visible(sqs, dlq_url), _visible(sqs, source_url)) == (0, 20)
    # the messages are the same: body and message attributes
    moved = sqs.receive_message(QueueUrl=source_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    first = moved["Messages"][0]
    assert json.loads(first["Body"]) == {"n": 0}
    assert first["MessageAttributes"]["kind"]["StringValue"] == "order"


def test_a_cancelled_move_stops_where_it_was_and_a_second_cancel_is_no_error(runtime: LocalRuntime) -> None:
    sqs = runtime.client("sqs")
    dlq_url, dlq_arn, source_url, source_arn = _queues(sqs, 30)
    mover = SqsMessageMover(sqs)
    handle = mover.start_message_move(dlq_arn, source_arn, max_per_second=10)
    runtime.clock.sleep(1.0)
    # when it is cancelled after a second
    assert mover.cancel_message_move(handle) == 10
    runtime.clock.sleep(5.0)
    # then nothing more moves, and the task says CANCELLED
    (cancelled,) = mover.message_moves(dlq_arn)
    assert (cancelled.status, cancelled.moved) == ("CANCELLED", 10)
    assert (_visible(sqs, dlq_url), _visible(sqs, source_url)) == (20, 10)
    # a retried cancel is not an error; an unknown handle is
    assert mover.cancel_message_move(handle) is None
    with pytest.raises(NotFoundError):
        mover.cancel_message_move("no-such-task")


def test_messages_that_reach_the_dlq_after_the_start_are_not_moved_by_that_task(runtime: LocalRuntime) -> None:
    sqs = runtime.client("sqs")
    dlq_url, dlq_arn, _, source_arn = _queues(sqs, 3)
    mover = SqsMessageMover(sqs)
    mover.start_message_move(dlq_arn, source_arn, max_per_second=1)
    sqs.send_message(QueueUrl=dlq_url, MessageBody="late")
    runtime.clock.sleep(10.0)
    (done,) = mover.message_moves(dlq_arn)
    assert (done.status, done.moved, done.to_move) == ("COMPLETED", 3, 3)
    assert _visible(sqs, dlq_url) == 1


def test_one_task_per_dlq_at_a_time_and_only_a_dlq_can_be_moved(runtime: LocalRuntime) -> None:
    sqs = runtime.client("sqs")
    _, dlq_arn, _, source_arn = _queues(sqs, 5)
    mover = SqsMessageMover(sqs)
    mover.start_message_move(dlq_arn, source_arn, max_per_second=1)
    # a second start while one runs is a conflict (the caller adopts the running one)
    with pytest.raises(ConflictError, match="StartMessageMoveTask"):
        mover.start_message_move(dlq_arn, source_arn, max_per_second=1)
    # a queue that is no one's DLQ cannot be a move's source
    with pytest.raises(InvalidRequest, match="Dead Letter Queue"):
        mover.start_message_move(source_arn, dlq_arn, max_per_second=1)
    # an empty DLQ's move completes at once, having moved nothing
    runtime.clock.sleep(10.0)
    mover.start_message_move(dlq_arn, source_arn, max_per_second=1)
    newest, first = mover.message_moves(dlq_arn)
    assert (newest.status, newest.moved, newest.to_move) == ("COMPLETED", 0, 0)
    assert (first.status, first.moved) == ("COMPLETED", 5)
