"""The virtual clock on its own: time moves only when every actor waits, one event at a time, in
a fixed order; waking hands activity over; a wait nobody can end is an error, never a hang."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollgate_local import virtual_time
from rollgate_local.virtual_time import Condition, Deadlock, Event, Thread, VirtualClock


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    clock = VirtualClock(1_000.0)
    virtual_time.install(clock)
    clock.join_actor()
    try:
        yield clock
    finally:
        clock.leave_actor()
        clock.close()
        virtual_time.uninstall()


class Ticks:
    """A timeline firing every `every` seconds from `start`, recording (instant, now) pairs."""

    def __init__(self, clock: VirtualClock, start: float, every: float) -> None:
        self.clock, self.next, self.every, self.fired = clock, start + every, every, []

    def next_instant(self) -> float:
        return self.next

    def fire(self, instant: float) -> None:
        self.fired.append((instant, self.clock.timestamp()))
        self.next += self.every


def test_sleep_jumps_straight_to_the_deadline(clock: VirtualClock) -> None:
    clock.sleep(300)
    assert clock.timestamp() == 1_300.0
    clock.sleep(0)  # nothing else to wait for: returns without moving
    assert clock.timestamp() == 1_300.0


def test_waiters_wake_in_deadline_order_ties_by_the_order_they_began(clock: VirtualClock) -> None:
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        clock.sleep(seconds)
        woke.append((name, clock.timestamp()))

    threads = [
        Thread(target=sleeper, args=(name, seconds), name=name)
        for name, seconds in (("late", 60), ("first", 10), ("tie-a", 30), ("tie-b", 30))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert woke == [("first", 1_010.0), ("tie-a", 1_030.0), ("tie-b", 1_030.0), ("late", 1_060.0)]
    assert clock.timestamp() == 1_060.0


def test_an_event_set_wakes_its_waiter_at_the_same_instant(clock: VirtualClock) -> None:
    event, seen = Event(), []

    def waiter() -> None:
        seen.append((event.wait(3600), clock.timestamp()))

    thread = Thread(target=waiter)
    thread.start()
    clock.sleep(45)  # the waiter blocks; time moves to our deadline, not to its timeout
    event.set()
    thread.join()
    assert seen == [(True, 1_045.0)]
    # and a timeout is virtual seconds
    assert Event().wait(120) is False and clock.timestamp() == 1_165.0


def test_join_with_a_timeout_and_a_condition_handover(clock: VirtualClock) -> None:
    condition, state = Condition(), {"n": 0}

    def producer() -> None:
        clock.sleep(5)
        with condition:
            state["n"] = 1
            condition.notify_all()

    def consumer() -> None:
        with condition:
            while state["n"] == 0:
                condition.wait()

    threads = [Thread(target=consumer), Thread(target=producer)]
    for thread in threads:
        thread.start()
    slow = Thread(target=clock.sleep, args=(600,))
    slow.start()
    slow.join(timeout=60)
    assert slow.is_alive() and clock.timestamp() == 1_060.0
    for thread in threads:
        thread.join()
    slow.join()
    assert not slow.is_alive() and clock.timestamp() == 1_600.0


def test_timelines_fire_one_at_a_time_at_their_own_instant_before_a_waiter_at_that_instant(clock: VirtualClock) -> None:
    ticks = Ticks(clock, 1_000.0, 0.25)
    clock.add_timeline(ticks)
    clock.sleep(1)
    clock.remove_timeline(ticks)
    clock.sleep(10)
    assert ticks.fired == [(1_000.25, 1_000.25), (1_000.5, 1_000.5), (1_000.75, 1_000.75), (1_001.0, 1_001.0)]


def test_a_deadlock_is_an_error_naming_every_wait_not_a_hang(clock: VirtualClock) -> None:
    never = Event()
    errors: list[BaseException] = []

    def stuck() -> None:
        try:
            never.wait()
        except Deadlock as error:
            errors.append(error)

    thread = Thread(target=stuck, name="stuck-worker")
    thread.start()
    with pytest.raises(Deadlock, match="stuck-worker waits for an event") as raised:
        Event().wait()
    thread.join()
    assert "MainThread waits for an event" in str(raised.value)
    assert len(errors) == 1


def test_without_a_clock_the_look_alikes_are_plain_threading() -> None:
    event = Event()
    thread = Thread(target=event.set)
    thread.start()
    thread.join()
    assert event.wait(0) is True
