"""DLQ redrive after a fixing release (rollgate.domain.deploy.redrive): the plan from the event
source mappings and the source queues' redrive policies, and the judgement of each poll: the moves
complete, or stop when the redriven messages fail again, or there is nothing to redrive."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from rollgate.domain.deploy.redrive import (
    RedriveTarget,
    judge_redrive,
    plan_redrive,
    poll_moves,
    start_moves,
)
from rollgate.domain.judge.health import GaugeSample, PeriodStats
from rollgate.domain.shared.errors import ConflictError, InvalidRequest, TransientAwsError
from rollgate.domain.shared.models import RedrivePolicy, parse_model
from rollgate.domain.shared.ports import EventSourceMapping, MessageMoveTask
from tests.unit.fakes import FakeClock

ACCOUNT = "arn:aws:sqs:us-east-1:123456789012"
SOURCE, DLQ = f"{ACCOUNT}:orders-source", f"{ACCOUNT}:orders-source-dlq"
OWN_DLQ = f"{ACCOUNT}:orders-api-dlq"


def _mapping(source: str, uuid: str = "m-1") -> EventSourceMapping:
    return EventSourceMapping(
        uuid=uuid, source_arn=source, function_arn="arn:aws:lambda:us-east-1:1:function:orders:live", state="Enabled"
    )


@dataclass
class _Task:
    handle: str
    dlq: str
    source: str
    rate: int
    started: datetime
    to_move: int
    status: str = "RUNNING"
    moved_at_stop: int | None = None


@dataclass
class FakeSqs:
    """DLQs that drain at each move's rate; with `failing`, every moved message comes back to its DLQ
    (the consumer fails it again) and counts as an error of the consumer."""

    clock: FakeClock
    depths: dict[str, int] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)  # source -> its redrive DLQ
    failing: bool = False
    tasks: list[_Task] = field(default_factory=list)
    starts: int = 0

    # RedriveProbe / QueueProbe
    def redrive_target(self, queue: str) -> str | None:
        return self.policies.get(queue)

    def depth(self, queue: str) -> int:
        moved = sum(self._moved(t) for t in self.tasks if t.dlq == queue)
        back = moved if self.failing else 0
        return self.depths.get(queue, 0) - moved + back

    # MessageMover
    def start_message_move(self, source_arn: str, destination_arn: str, *, max_per_second: int) -> str:
        if any(t.dlq == source_arn and self._status(t) == "RUNNING" for t in self.tasks):
            raise ConflictError("a task runs")
        self.starts += 1
        handle = f"task-{self.starts}"
        remaining = self.depth(source_arn)
        self.tasks.insert(0, _Task(handle, source_arn, destination_arn, max_per_second, self.clock.now(), remaining))
        return handle

    def message_moves(self, source_arn: str) -> list[MessageMoveTask]:
        return [
            MessageMoveTask(
                status=self._status(t),
                source_arn=t.dlq,
                destination_arn=t.source,
                handle=t.handle if self._status(t) == "RUNNING" else None,
                moved=self._moved(t),
                to_move=t.to_move,
                max_per_second=t.rate,
                started_at=t.started,
            )
            for t in self.tasks
            if t.dlq == source_arn
        ]

    def cancel_message_move(self, handle: str) -> int | None:
        task = next(t for t in self.tasks if t.handle == handle)
        if self._status(task) != "RUNNING":
            return None
        task.moved_at_stop, task.status = self._moved(task), "CANCELLED"
        return task.moved_at_stop

    def _moved(self, task: _Task) -> int:
        if task.moved_at_stop is not None:
            return task.moved_at_stop
        elapsed = (self.clock.now() - task.started).total_seconds()
        return min(task.to_move, math.floor(elapsed * task.rate))

    def _status(self, task: _Task) -> str:
        if task.status != "RUNNING":
            return task.status
        return "COMPLETED" if self._moved(task) >= task.to_move else "RUNNING"


@dataclass
class FakeConsumerMetrics:
    """The consumer's Errors/Invocations: live traffic at 1 a second without errors, plus every
    redriven message (an error when the consumer fails it)."""

    sqs: FakeSqs
    broken: bool = False

    def version_series(
        self, function_name: str, alias: str, version: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[PeriodStats]:
        if self.broken:
            raise TransientAwsError("GetMetricData: InternalError")
        live = (end - start).total_seconds()
        redriven = 0.0
        for task in self.sqs.tasks:
            redriven += self.sqs._moved(task) if task.started >= start else 0
        errors = redriven if self.sqs.failing else 0.0
        return [PeriodStats(start=start, invocations=live + redriven, errors=errors)]

    def iterator_age(
        self, function_name: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[GaugeSample]:
        return []


def _world(depth: int = 40, *, failing: bool = False) -> tuple[FakeClock, FakeSqs, FakeConsumerMetrics]:
    clock = FakeClock()
    sqs = FakeSqs(clock, depths={DLQ: depth}, policies={SOURCE: DLQ}, failing=failing)
    return clock, sqs, FakeConsumerMetrics(sqs)


def _target(**policy: object) -> RedriveTarget:
    settings = {"after_fix": True, "max_messages_per_second": 10, "poll_interval_seconds": 2, **policy}
    return RedriveTarget("orders", "live", "2", RedrivePolicy.model_validate(settings))


def _run(target: RedriveTarget, clock: FakeClock, sqs: FakeSqs, metrics: FakeConsumerMetrics):  # type: ignore[no-untyped-def]
    legs, skipped = plan_redrive([_mapping(SOURCE)], sqs, function_dlq=OWN_DLQ)
    progress = start_moves(target, legs, skipped, mover=sqs, queues=sqs, metrics=metrics, clock=clock)
    polls = 0
    while progress.status == "Running":
        clock.advance(target.policy.poll_interval_seconds)
        progress = poll_moves(target, progress, mover=sqs, queues=sqs, metrics=metrics, clock=clock)
        polls += 1
        assert polls < 1000
    return progress


# --------------------------------------------------------------------------- the plan
def test_the_plan_moves_each_sqs_sources_redrive_dlq_back_to_that_source_and_skips_the_async_dlq() -> None:
    _, sqs, _ = _world()
    other_source, no_policy = f"{ACCOUNT}:refunds", f"{ACCOUNT}:audit"
    sqs.policies[other_source] = f"{ACCOUNT}:refunds-dlq"
    mappings = [
        _mapping(SOURCE),
        _mapping(other_source, "m-2"),
        _mapping(no_policy, "m-3"),
        _mapping("arn:aws:kinesis:us-east-1:1:stream/orders", "m-4"),
    ]
    legs, skipped = plan_redrive(mappings, sqs, function_dlq=OWN_DLQ)
    assert [(leg.dlq, leg.source) for leg in legs] == [(DLQ, SOURCE), (f"{ACCOUNT}:refunds-dlq", other_source)]
    assert any("audit has no redrive policy" in s for s in skipped)
    # the function's own DLQ (async invocations) has no source queue to move back to
    assert any("orders-api-dlq is the function's own on-failure DLQ" in s for s in skipped)


def test_a_dlq_shared_by_two_sources_is_not_moved_to_either() -> None:
    _, sqs, _ = _world()
    second = f"{ACCOUNT}:orders-second"
    sqs.policies[second] = DLQ
    legs, skipped = plan_redrive([_mapping(SOURCE), _mapping(second, "m-2")], sqs)
    assert legs == []
    assert skipped == ["orders-source-dlq is the DLQ of several sources: which one a message came from is unknown"]


# --------------------------------------------------------------------------- the judgement
def test_a_fixed_consumer_drains_its_dlq_and_the_redrive_completes() -> None:
    clock, sqs, metrics = _world(40)
    progress = _run(_target(), clock, sqs, metrics)
    assert (progress.status, progress.outcome) == ("Done", "REDRIVE_COMPLETED")
    assert progress.moved == 40 and sqs.depth(DLQ) == 0
    assert progress.evidence[-1].ok and "40 message(s) redriven" in progress.reason
    # the moves ran at the rate asked for: 40 at 10/s is 4 s, then one settling poll
    assert sqs.tasks[0].rate == 10 and progress.polls == 3


def test_messages_that_fail_again_stop_the_move_part_way() -> None:
    clock, sqs, metrics = _world(400, failing=True)
    progress = _run(_target(), clock, sqs, metrics)
    assert (progress.status, progress.outcome) == ("Done", "REDRIVE_STOPPED")
    # stopped at the first poll: 20 moved, all 20 back; the rest never left the DLQ
    (leg,) = progress.legs
    assert (leg.task_status, leg.moved, leg.refilled) == ("CANCELLED", 20, 20)
    assert sqs.depth(DLQ) == 400
    assert "took back 20 of the 20" in progress.reason and "move cancelled" in progress.reason
    assert not progress.evidence[-1].ok


def test_the_consumers_errors_alone_stop_it_when_the_dlq_has_not_refilled_yet() -> None:
    # SQS retries a failed message before it reaches the DLQ: the errors show first
    clock, sqs, metrics = _world(400, failing=True)
    target = _target(max_refill_share=1.0)
    progress = _run(target, clock, sqs, metrics)
    assert progress.outcome == "REDRIVE_STOPPED"
    assert "the consumer's errors rose to 20/" in progress.reason


def test_a_failed_metric_read_is_said_and_the_dlqs_still_decide() -> None:
    clock, sqs, metrics = _world(30)
    metrics.broken = True
    progress = _run(_target(), clock, sqs, metrics)
    assert progress.outcome == "REDRIVE_COMPLETED"
    assert any(e.check == "redrive_note" and "could not be read" in e.detail for e in progress.evidence)


def test_an_empty_dlq_is_nothing_to_redrive() -> None:
    clock, sqs, metrics = _world(0)
    progress = _run(_target(), clock, sqs, metrics)
    assert (progress.status, progress.outcome) == ("Done", "NOTHING_TO_REDRIVE")
    assert sqs.tasks == [] and "orders-source-dlq is empty" in progress.reason


def test_a_move_still_running_at_max_seconds_is_cancelled() -> None:
    clock, sqs, metrics = _world(1000)
    progress = _run(_target(max_seconds=10, max_messages_per_second=5), clock, sqs, metrics)
    assert progress.outcome == "REDRIVE_INCOMPLETE"
    assert "redrive.max_seconds (10)" in progress.reason
    assert sqs.tasks[0].status == "CANCELLED" and 40 <= progress.moved <= 60


def test_a_rerun_adopts_its_own_running_move_instead_of_starting_another() -> None:
    clock, sqs, metrics = _world(100)
    legs, _ = plan_redrive([_mapping(SOURCE)], sqs)
    first = start_moves(_target(), legs, [], mover=sqs, queues=sqs, metrics=metrics, clock=clock)
    again = start_moves(_target(), legs, [], mover=sqs, queues=sqs, metrics=metrics, clock=clock)
    assert sqs.starts == 1 and again.legs[0].handle == first.legs[0].handle


def test_a_dry_run_starts_nothing_and_says_what_it_would_move() -> None:
    clock, sqs, metrics = _world(12)
    legs, _ = plan_redrive([_mapping(SOURCE)], sqs)
    progress = start_moves(_target(), legs, [], mover=sqs, queues=sqs, metrics=metrics, clock=clock, dry_run=True)
    assert sqs.tasks == [] and progress.outcome == "SKIPPED"
    assert "would move 12 message(s) at most 10/s" in progress.reason


def test_judge_holds_nothing_against_a_redrive_that_moved_nothing_yet() -> None:
    clock, sqs, metrics = _world(10)
    legs, _ = plan_redrive([_mapping(SOURCE)], sqs)
    progress = start_moves(_target(), legs, [], mover=sqs, queues=sqs, metrics=metrics, clock=clock)
    assert judge_redrive(progress, _target().policy) == []


# --------------------------------------------------------------------------- the policy
@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"max_messages_per_second": 0}, "redrive.max_messages_per_second"),
        ({"max_messages_per_second": 501}, "redrive.max_messages_per_second"),
        ({"max_seconds": 0}, "redrive.max_seconds"),
        ({"max_refill_share": 1.5}, "redrive.max_refill_share"),
        ({"after_fix": "maybe"}, "redrive.after_fix"),
        ({"rate": 3}, "redrive.rate: unknown field"),
    ],
)
def test_a_bad_redrive_policy_names_its_field(settings: dict[str, object], named: str) -> None:
    with pytest.raises(InvalidRequest, match=named.replace(".", r"\.")):
        parse_model(RedrivePolicy, settings, "redrive")


def test_the_redrive_is_part_of_the_deployments_worst_case() -> None:
    from rollgate.domain.shared.models import DeploymentRequest

    base = {"function_name": "orders", "artifact": {"function_version": "3"}}
    plain = DeploymentRequest.model_validate(base)
    redriven = DeploymentRequest.model_validate({**base, "redrive": {"after_fix": True, "max_seconds": 600}})
    assert redriven.worst_case_seconds() >= plain.worst_case_seconds() + 600
    assert redriven.wait_loops() > plain.wait_loops()
    assert timedelta(seconds=redriven.worst_case_seconds()) > timedelta(minutes=10)
