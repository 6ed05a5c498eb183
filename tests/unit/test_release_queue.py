"""The release queue: one release of an application's branch at a time; queue or supersede a newer
push; a stopped release's place taken over; the wait bounded (fakes, no AWS)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.release.queue import (
    QueuePolicy,
    Slot,
    Ticket,
    check_queue,
    decide,
    leave_queue,
    supersede_between_waves,
)
from rollgate.domain.release.waves import ReleaseContext, conclude_release, load_manifest, start_release
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.records import FunctionOutcome
from tests.unit.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "tests/events/release_manifest.json").read_text())


class FakeQueues:
    """QueueStore in memory, with the adapter's conditions."""

    def __init__(self) -> None:
        self.queues: dict[str, dict[str, Ticket]] = {}
        self.slots: dict[str, Slot] = {}

    def join(self, queue: str, ticket: Ticket) -> None:
        self.queues.setdefault(queue, {}).setdefault(ticket.position, ticket)

    def tickets(self, queue: str) -> list[Ticket]:
        return sorted(self.queues.get(queue, {}).values(), key=lambda t: t.position)

    def slot(self, queue: str) -> Slot | None:
        return self.slots.get(queue)

    def take_slot(self, queue: str, slot: Slot, *, replacing: str | None) -> bool:
        held = self.slots.get(queue)
        if held is not None and held.holder not in (slot.holder, replacing):
            return False
        self.slots[queue] = slot
        return True

    def remove_ticket(self, queue: str, position: str) -> None:
        self.queues.get(queue, {}).pop(position, None)

    def release_slot(self, queue: str, holder: str) -> bool:
        if queue in self.slots and self.slots[queue].holder == holder:
            del self.slots[queue]
            return True
        return False


class FakeExecutions:
    def __init__(self) -> None:
        self.ended: dict[str, str] = {}

    def status(self, execution_arn: str) -> str | None:
        return self.ended.get(execution_arn, "RUNNING")


def _manifest(**queue: Any) -> dict[str, Any]:
    manifest = json.loads(json.dumps(SAMPLE))
    if queue:
        manifest["queue"] = queue
    return manifest


def _release(
    name: str, clock: FakeClock, *, branch: str | None = "release/1", manifest: dict[str, Any] | None = None
) -> ReleaseContext:
    source = {"trigger": "github", "repository": "acme/shop", "commit": name * 8}
    if branch:
        source["branch"] = branch
    ctx = start_release(
        {"manifest": manifest or _manifest(), "source": source},
        {"Name": name, "Id": f"arn:aws:states:eu-west-1:123456789012:execution:Release:{name}"},
        clock=clock,
    )
    clock.advance(1)
    return load_manifest(ctx, store=None)  # type: ignore[arg-type]  # inline: the store is not read


def _check(ctx: ReleaseContext, queues: FakeQueues, executions: FakeExecutions, clock: FakeClock) -> ReleaseContext:
    return check_queue(ctx, store=queues, executions=executions, now=clock.now())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_push_while_a_release_of_its_branch_runs_waits_then_runs_when_it_concludes(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    first = _check(_release("a", clock), queues, executions, clock)
    second = _check(_release("b", clock), queues, executions, clock)

    assert first.queue and first.queue.next == "run"
    assert second.queue and second.queue.next == "wait"
    assert "release shop-2026.11.23" in (second.queue.waiting_for or "") and "execution a" in second.queue.waiting_for
    assert second.queue.ahead == 1
    assert second.queue.poll_interval_seconds == 60

    clock.advance(60)
    second = _check(second, queues, executions, clock)
    assert second.queue and second.queue.next == "wait"  # the first still runs

    leave_queue(first, store=queues)  # RecordRelease of the first
    clock.advance(60)
    again = _check(second, queues, executions, clock)
    assert again.queue and again.queue.next == "run" and again.queue.polls == 3
    assert queues.slot("shop#release/1").holder == "b"


def test_queued_releases_run_in_push_order(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    first = _check(_release("a", clock), queues, executions, clock)
    second = _release("b", clock)
    third = _release("c", clock)
    third = _check(third, queues, executions, clock)  # the newer push asks first
    second = _check(second, queues, executions, clock)
    leave_queue(first, store=queues)

    assert _check(third, queues, executions, clock).queue.next == "wait"  # behind b, pushed before it
    assert _check(second, queues, executions, clock).queue.next == "run"


def test_another_branch_or_application_has_its_own_queue_and_a_release_without_a_branch_none(
    clock: FakeClock,
) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    _check(_release("a", clock), queues, executions, clock)
    other_branch = _check(_release("b", clock, branch="release/2"), queues, executions, clock)
    other_app = _check(
        _release("c", clock, manifest={**_manifest(), "application": "billing"}), queues, executions, clock
    )
    manual = _check(_release("d", clock, branch=None), queues, executions, clock)

    assert other_branch.queue.next == "run" and other_app.queue.next == "run"
    assert manual.queue is None  # not queued: the Choice goes straight to the first wave


def test_a_stopped_holder_never_blocks_the_next_release(clock: FakeClock) -> None:
    # the first release was stopped in the console: RecordRelease never ran, its ticket and slot stayed
    queues, executions = FakeQueues(), FakeExecutions()
    first = _check(_release("a", clock), queues, executions, clock)
    second = _check(_release("b", clock), queues, executions, clock)
    assert second.queue.next == "wait"
    executions.ended[str(first.execution_arn)] = "ABORTED"

    clock.advance(60)
    after = _check(second, queues, executions, clock)

    assert after.queue.next == "run"
    assert "no longer runs" in after.queue.reason
    assert [t.execution_name for t in queues.tickets("shop#release/1")] == ["b"]  # the dead ticket dropped
    assert queues.slot("shop#release/1").holder == "b"


def test_a_stopped_release_queued_ahead_is_not_waited_for(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    first = _check(_release("a", clock), queues, executions, clock)
    second = _check(_release("b", clock), queues, executions, clock)
    third = _check(_release("c", clock), queues, executions, clock)
    executions.ended[str(second.execution_arn)] = "ABORTED"
    leave_queue(first, store=queues)

    assert _check(third, queues, executions, clock).queue.next == "run"


def test_the_wait_is_bounded_and_ends_queue_timeout_with_nothing_deployed(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    _check(_release("a", clock), queues, executions, clock)
    second = _check(_release("b", clock, manifest=_manifest(max_wait_seconds=300)), queues, executions, clock)
    clock.advance(299)
    assert _check(second, queues, executions, clock).queue.next == "wait"
    clock.advance(1)
    ended = _check(second, queues, executions, clock)

    assert ended.queue.next == "timed_out" and ended.next == "done" and ended.revert == []
    result = conclude_release(ended, clock=clock)
    assert result.status is Status.QUEUE_TIMEOUT and result.error_name == "ReleaseQueueTimeout"
    assert "max_wait_seconds 300" in result.reason
    assert {f.status for f in result.functions} == {Status.NOT_STARTED}


def test_supersede_ends_the_older_queued_release_when_a_newer_push_queues(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    supersede = _manifest(on_newer_push="supersede")
    running = _check(_release("a", clock, manifest=supersede), queues, executions, clock)
    queued = _check(_release("b", clock, manifest=supersede), queues, executions, clock)
    newest = _check(_release("c", clock, manifest=supersede), queues, executions, clock)
    assert (queued.queue.next, newest.queue.next) == ("wait", "wait")  # c does not wait for b, only for a
    assert "execution a" in (newest.queue.waiting_for or "") and newest.queue.ahead == 1

    clock.advance(60)
    ended = _check(queued, queues, executions, clock)

    assert ended.queue.next == "superseded" and ended.queue.superseded_by == newest.release_id
    result = conclude_release(ended, clock=clock)
    assert result.status is Status.SUPERSEDED and result.error_name == "ReleaseSuperseded"
    assert "execution c" in result.reason
    leave_queue(ended, store=queues)
    leave_queue(running, store=queues)
    assert _check(newest, queues, executions, clock).queue.next == "run"


def test_queue_policy_keeps_every_push(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    _check(_release("a", clock), queues, executions, clock)
    queued = _check(_release("b", clock), queues, executions, clock)
    _check(_release("c", clock), queues, executions, clock)

    assert _check(queued, queues, executions, clock).queue.next == "wait"


def _after_first_wave(ctx: ReleaseContext) -> ReleaseContext:
    """As AdvanceWave answers when wave 1 promoted everything: on to wave 2."""
    assert ctx.plan is not None
    return ctx.model_copy(update={"next": "wave", "wave_index": 1, "wave": ctx.plan.waves[1]})


def test_a_running_release_superseded_stops_before_its_next_wave_reverting_nothing(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    supersede = _manifest(on_newer_push="supersede")
    running = _check(_release("a", clock, manifest=supersede), queues, executions, clock)
    newer = _check(_release("b", clock, manifest=supersede), queues, executions, clock)
    advanced = _after_first_wave(running)
    promoted = [
        FunctionOutcome(
            function_name=p.function_name,
            alias=p.alias,
            wave=0,
            status=Status.PROMOTED,
            reason="promoted",
            from_version="1",
            to_version="2",
        )
        for p in running.plan.waves[0]
    ]
    advanced = advanced.model_copy(update={"outcomes": promoted})

    stopped = supersede_between_waves(advanced, store=queues, executions=executions, now=clock.now())

    assert stopped.next == "done" and stopped.revert == []
    result = conclude_release(stopped, clock=clock)
    assert result.status is Status.SUPERSEDED
    statuses = {f.function_name: f.status for f in result.functions}
    assert statuses == {
        "payments-api": Status.PROMOTED,
        "inventory-api": Status.PROMOTED,
        "orders-api": Status.NOT_STARTED,
    }
    assert "after wave 1" in result.reason and newer.release_id in result.reason
    assert result.reverts == []


def test_a_running_release_with_policy_queue_goes_on_to_its_next_wave(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    running = _check(_release("a", clock), queues, executions, clock)
    _check(_release("b", clock), queues, executions, clock)
    advanced = _after_first_wave(running)

    assert supersede_between_waves(advanced, store=queues, executions=executions, now=clock.now()) == advanced


def test_a_stopped_newer_push_supersedes_nothing(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    supersede = _manifest(on_newer_push="supersede")
    running = _check(_release("a", clock, manifest=supersede), queues, executions, clock)
    newer = _check(_release("b", clock, manifest=supersede), queues, executions, clock)
    executions.ended[str(newer.execution_arn)] = "ABORTED"

    advanced = _after_first_wave(running)
    assert supersede_between_waves(advanced, store=queues, executions=executions, now=clock.now()).next == "wave"


def test_a_retried_check_keeps_its_place_and_rerunning_holds_the_slot(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    release = _release("a", clock)
    first = _check(release, queues, executions, clock)
    retried = _check(release, queues, executions, clock)  # the step's input again: no earlier answer
    assert (first.queue.next, retried.queue.next) == ("run", "run")
    assert first.queue.position == retried.queue.position
    assert len(queues.tickets("shop#release/1")) == 1


def test_leaving_gives_back_only_its_own_place(clock: FakeClock) -> None:
    queues, executions = FakeQueues(), FakeExecutions()
    first = _check(_release("a", clock), queues, executions, clock)
    second = _check(_release("b", clock), queues, executions, clock)
    leave_queue(second, store=queues)  # the queued one gives up (e.g. its record ran after a failure)

    assert queues.slot("shop#release/1").holder == "a"
    assert [t.execution_name for t in queues.tickets("shop#release/1")] == ["a"]
    leave_queue(first, store=queues)
    leave_queue(first, store=queues)  # idempotent
    assert queues.slot("shop#release/1") is None and queues.tickets("shop#release/1") == []


def test_decide_waits_for_a_live_holder_and_takes_over_a_dead_one(clock: FakeClock) -> None:
    me = Ticket("2026-11-23T12:00:05#b", "b", "arn:b", "r-b", None, "queue", clock.now())
    holder = Slot("a", "arn:a", "r-a", clock.now())
    policy = QueuePolicy()

    waiting = decide(me, [me], holder, slot_alive=True, policy=policy, now=clock.now(), joined_at=clock.now())
    taking = decide(me, [me], holder, slot_alive=False, policy=policy, now=clock.now(), joined_at=clock.now())
    mine = decide(
        me, [me], replace(holder, holder="b"), slot_alive=True, policy=policy, now=clock.now(), joined_at=clock.now()
    )

    assert (waiting.next.value, waiting.ahead) == ("wait", 1)
    assert (taking.next.value, taking.take_over) == ("run", "a")
    assert mine.next.value == "run"


@pytest.mark.parametrize(
    ("queue", "field"),
    [
        ({"on_newer_push": "cancel"}, "manifest.queue.on_newer_push"),
        ({"max_wait_seconds": -1}, "manifest.queue.max_wait_seconds"),
        ({"poll_interval_seconds": 1}, "manifest.queue.poll_interval_seconds"),
        ({"colour": "blue"}, "manifest.queue.colour"),
    ],
)
def test_a_bad_queue_policy_is_refused_naming_the_field(clock: FakeClock, queue: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest, match=field.replace(".", r"\.")):
        _release("a", clock, manifest=_manifest(**queue))


def test_rollgate_releases_shows_the_running_release_and_what_each_queued_one_waits_for(clock: FakeClock) -> None:
    from rollgate_cli.releases import queue_rows

    queues, executions = FakeQueues(), FakeExecutions()
    _check(_release("a", clock), queues, executions, clock)
    _check(_release("b", clock), queues, executions, clock)
    _check(_release("c", clock), queues, executions, clock)

    rows = queue_rows(queues.slot("shop#release/1"), queues.tickets("shop#release/1"))

    assert [(r["state"], r["execution_name"]) for r in rows] == [("running", "a"), ("queued", "b"), ("queued", "c")]
    assert rows[0]["waits_for"] is None
    assert "execution a" in rows[1]["waits_for"] and "execution b" in rows[2]["waits_for"]
