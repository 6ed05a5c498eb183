"""SQS patches (32-33): DLQ redrive (message move tasks) on the runtime clock, and SQS event source
mappings that deliver through the alias they are bound to.

Patches (what AWS does / what moto 5.2.5 does / what we change):

32. Message move tasks (``SQSResponse`` gains StartMessageMoveTask, ListMessageMoveTasks and
    CancelMessageMoveTask). AWS moves the messages a dead-letter queue holds when the task starts
    back to a destination queue (``DestinationArn``, else each message's original source) at
    ``MaxNumberOfMessagesPerSecond`` (1-500; unset: as fast as it can), one task per source
    queue at a time; the task reports RUNNING, then COMPLETED (or CANCELLING -> CANCELLED, or
    FAILED with a reason) and ``ApproximateNumberOfMessagesMoved`` / ``…ToMove``. moto answers
    none of the three. We keep the tasks on the SQS backend and move message i (1, 2, …) of the
    N the DLQ held at the start at ``started + i / rate`` seconds of the runtime clock: on a
    virtual clock each task is a timeline (``rollgate_local.virtual_time``), fired at each
    message's instant as traffic is, so a move of 100 messages at 10/s takes 10 virtual seconds
    and the consumer sees each message at its own instant; on a scaled clock the moves due are
    made before each of the three calls and each GetQueueAttributes. A moved message is a new
    message of the destination with the same body and message attributes (its receive count
    starts again); one deleted or in flight when its turn comes is skipped. Messages that reach
    the DLQ after the start are not moved by that task (as on AWS), so a consumer that fails the
    redriven messages again refills the DLQ without the task chasing them. The source must be a
    dead-letter queue of some queue (AWS's InvalidParameterValue otherwise). Only a RUNNING task
    can be cancelled: it stops at once (CANCELLED; AWS passes through CANCELLING).
33. SQS deliveries of an event source mapping (``Queue.add_message``). AWS's poller invokes the
    function the mapping names, an alias-qualified ARN through the alias (its weights). moto keys
    the queue's mappings by the ARN of the version the alias pointed at when the mapping was
    created and invokes that version, whatever the alias routes to later (patch 8 reports the alias
    ARN, but the key stays). We re-key the queue's mappings by each mapping's FunctionArn before a
    delivery, so a canary on the alias gets its share of the queue's messages.

Not modelled: a move task's FAILED outcomes on AWS (a deleted destination, KMS permissions), FIFO
queues as sources (AWS refuses them too), and the visibility and retention timers, which stay on
the wall clock (a message a consumer has failed is visible again at once, and goes to the DLQ at its
next receive once its receive count reaches the redrive policy's maxReceiveCount).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from rollgate_local.bridge.core import _clock, _patch

#: what AWS uses when MaxNumberOfMessagesPerSecond is not given ("system optimized"); its maximum
_FASTEST = 500
_TASKS_ATTR = "_rollgate_move_tasks"
_LOCK = threading.RLock()


@dataclass(eq=False)
class MoveTask:
    """One StartMessageMoveTask: the messages to move (by id, in the DLQ's order) and how far it is."""

    handle: str
    account: str
    region: str
    source_arn: str
    destination_arn: str | None
    rate: int
    rate_given: bool
    started: float  # epoch seconds on the runtime clock
    message_ids: list[str]
    status: str = "RUNNING"
    moved: int = 0
    failure_reason: str | None = None
    _next: int = 0  # index of the next message to consider
    _registered: list[Any] = field(default_factory=list)  # the clocks this task is a timeline of

    # ---- a rollgate_local.virtual_time Timeline ---------------------------------------------------
    def next_instant(self) -> float | None:
        if self.status != "RUNNING":
            return None
        return self.started + (self._next + 1) / self.rate

    def fire(self, instant: float) -> None:
        with _LOCK:
            if self.status != "RUNNING" or self.started + (self._next + 1) / self.rate > instant:
                return
            self._move_next()

    def catch_up(self, until: float) -> None:
        with _LOCK:
            while (due := self.next_instant()) is not None and due <= until:
                self._move_next()

    # ---- moving ----------------------------------------------------------------------------------
    def _move_next(self) -> None:
        message_id = self.message_ids[self._next]
        self._next += 1
        try:
            if _move_one(self, message_id):
                self.moved += 1
        finally:
            if self._next >= len(self.message_ids) and self.status == "RUNNING":
                self.status = "COMPLETED"
                self._leave_clock()

    def _leave_clock(self) -> None:
        for clock in self._registered:
            clock.remove_timeline(self)
        self._registered.clear()

    def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": len(self.message_ids),
            "StartedTimestamp": int(self.started * 1000),
        }
        if self.status == "RUNNING":
            answer["TaskHandle"] = self.handle
        if self.destination_arn:
            answer["DestinationArn"] = self.destination_arn
        if self.rate_given:
            answer["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason:
            answer["FailureReason"] = self.failure_reason
        return answer


def _backend(account: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account][region]


def _tasks(backend: Any) -> list[MoveTask]:
    tasks: list[MoveTask] | None = getattr(backend, _TASKS_ATTR, None)
    if tasks is None:
        tasks = []
        setattr(backend, _TASKS_ATTR, tasks)
    return tasks


def _queue_by_arn(backend: Any, arn: str) -> Any | None:
    return next((q for q in backend.queues.values() if q.queue_arn == arn), None)


def _move_one(task: MoveTask, message_id: str) -> bool:
    """Move the message if the DLQ still holds it, visible; False when it was deleted or is in flight."""
    backend = _backend(task.account, task.region)
    source = _queue_by_arn(backend, task.source_arn)
    if source is None:
        task.status, task.failure_reason = "FAILED", "AWS.SimpleQueueService.NonExistentQueue: the source queue is gone"
        return False
    message = next((m for m in source._messages if m.id == message_id), None)
    if message is None or not message.visible:
        return False
    destination_arn = task.destination_arn or _original_source(backend, source)
    destination = _queue_by_arn(backend, destination_arn) if destination_arn else None
    if destination is None:
        task.status = "FAILED"
        task.failure_reason = f"AWS.SimpleQueueService.NonExistentQueue: no destination queue {destination_arn}"
        return False
    with source._messages_lock:
        source._messages.remove(message)
    source.pending_messages.discard(message)
    # a new message of the destination: its sending delivers it to the destination's consumers
    backend.send_message(
        destination.name,
        message.body,
        message_attributes=dict(message.message_attributes) or None,
        group_id=message.group_id,
        deduplication_id=message.deduplication_id,
    )
    return True


def _original_source(backend: Any, dlq: Any) -> str | None:
    """The queue whose redrive policy names `dlq` (moto does not keep each message's source)."""
    sources = [q for q in backend.queues.values() if q.dead_letter_queue is dlq]
    return sources[0].queue_arn if len(sources) == 1 else None


def catch_up_moves(account: str, region: str) -> None:
    """Make every move due by the runtime clock's now (what a scaled clock relies on)."""
    now = _clock().now().timestamp()
    with _LOCK:
        for task in list(_tasks(_backend(account, region))):
            task.catch_up(now)


def _error(code: str, message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    error = SQSException(code, message)
    return error


def _start(response: Any) -> Any:
    from moto.core.responses import ActionResult

    backend = response.sqs_backend
    account, region = response.current_account, response.region
    catch_up_moves(account, region)
    source_arn = str(response._get_param("SourceArn") or "")
    destination_arn = response._get_param("DestinationArn")
    rate = response._get_param("MaxNumberOfMessagesPerSecond")
    source = _queue_by_arn(backend, source_arn)
    if source is None:
        raise _error(
            "ResourceNotFoundException",
            f"The resource that you specified for the SourceArn parameter doesn't exist: {source_arn}",
        )
    if not any(q.dead_letter_queue is source for q in backend.queues.values()):
        raise _error("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    if destination_arn and _queue_by_arn(backend, str(destination_arn)) is None:
        raise _error(
            "ResourceNotFoundException",
            f"The resource that you specified for the DestinationArn parameter doesn't exist: {destination_arn}",
        )
    if rate is not None and not 1 <= int(rate) <= _FASTEST:
        raise _error(
            "InvalidParameterValue",
            f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: must be between 1 and {_FASTEST}.",
        )
    with _LOCK:
        tasks = _tasks(backend)
        if any(t.source_arn == source_arn and t.status == "RUNNING" for t in tasks):
            raise _error("UnsupportedOperation", f"There is already a task running on {source_arn}.")
        clock = _clock()
        task = MoveTask(
            handle=str(uuid.uuid4()),
            account=account,
            region=region,
            source_arn=source_arn,
            destination_arn=str(destination_arn) if destination_arn else None,
            rate=int(rate) if rate is not None else _FASTEST,
            rate_given=rate is not None,
            started=clock.now().timestamp(),
            message_ids=[m.id for m in source.messages],
        )
        tasks.insert(0, task)  # newest first, as ListMessageMoveTasks answers
        if not task.message_ids:
            task.status = "COMPLETED"
        elif getattr(clock, "virtual", False):
            clock.add_timeline(task)  # type: ignore[attr-defined]
            task._registered.append(clock)
    return ActionResult({"TaskHandle": task.handle})


def _list(response: Any) -> Any:
    from moto.core.responses import ActionResult

    catch_up_moves(response.current_account, response.region)
    source_arn = str(response._get_param("SourceArn") or "")
    limit = int(response._get_param("MaxResults") or 1)
    if not 1 <= limit <= 10:
        raise _error(
            "InvalidParameterValue",
            f"Value {limit} for parameter MaxResults is invalid. Reason: must be between 1 and 10.",
        )
    backend = response.sqs_backend
    if _queue_by_arn(backend, source_arn) is None:
        raise _error(
            "ResourceNotFoundException",
            f"The resource that you specified for the SourceArn parameter doesn't exist: {source_arn}",
        )
    with _LOCK:
        found = [t.describe() for t in _tasks(backend) if t.source_arn == source_arn][:limit]
    return ActionResult({"Results": found})


def _cancel(response: Any) -> Any:
    from moto.core.responses import ActionResult

    catch_up_moves(response.current_account, response.region)
    handle = str(response._get_param("TaskHandle") or "")
    with _LOCK:
        task = next((t for t in _tasks(response.sqs_backend) if t.handle == handle), None)
        if task is None:
            raise _error("ResourceNotFoundException", f"Task does not exist: {handle}")
        if task.status != "RUNNING":
            raise _error("UnsupportedOperation", f"Only a RUNNING task can be cancelled; this one is {task.status}.")
        task.status = "CANCELLED"
        task._leave_clock()
    return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})


def install() -> None:
    from moto.sqs import models, responses

    # 32. Message move tasks.
    _patch(responses.SQSResponse, "start_message_move_task", _start)
    _patch(responses.SQSResponse, "list_message_move_tasks", _list)
    _patch(responses.SQSResponse, "cancel_message_move_task", _cancel)
    original_attributes = responses.SQSResponse.get_queue_attributes

    def get_queue_attributes(self: Any) -> Any:
        catch_up_moves(self.current_account, self.region)  # a depth read sees the moves due by now
        return original_attributes(self)

    _patch(responses.SQSResponse, "get_queue_attributes", get_queue_attributes)

    # 33. Deliveries through the mapping's FunctionArn (an alias keeps its weights).
    original_add_message = models.Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        mappings = self.lambda_event_source_mappings
        if any(key != esm.function_arn for key, esm in mappings.items()):
            self.lambda_event_source_mappings = {esm.function_arn: esm for esm in mappings.values()}
        original_add_message(self, message)

    _patch(models.Queue, "add_message", add_message)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.sqs.responses.SQSResponse.get_queue_attributes": ("self",),
    "moto.sqs.models.Queue.add_message": ("self", "message"),
    "moto.sqs.models.SQSBackend.send_message": (
        "self",
        "queue_name",
        "message_body",
        "message_attributes",
        "delay_seconds",
        "deduplication_id",
        "group_id",
    ),
}
RELIED_ON: frozenset[str] = frozenset({"moto.sqs.models.SQSBackend.send_message"})
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable at the pinned moto (print the current ones with
# `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.sqs.responses.SQSResponse.get_queue_attributes":
        "d8247c17ea3b94878a9b4527ff5c5a6dff9b7eb55937013e4183ab79b42f502f",
    "moto.sqs.models.Queue.add_message":
        "f27c9231c1f2043382bc1435c4dfbab7b645389df642f050d9dda477f6535c35",
    "moto.sqs.models.SQSBackend.send_message":
        "bf161af09a9e6b860e3dd5d8f58ccc802623caa86883fab9b2ffb333f8f70330",
}
# fmt: on
