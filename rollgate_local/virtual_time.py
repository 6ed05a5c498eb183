"""Virtual time with autojump: the clock of tests, `make demo` and benchmark-style runs.

Public API:

    VirtualClock(origin: float)              origin in epoch seconds
        .now() -> datetime (UTC) / .timestamp() -> float     the stored instant; it moves only as below
        .sleep(seconds)                       wait until now + seconds (0: until every other actor waits)
        .wait_on(event, seconds) -> bool      event.wait(seconds) in virtual seconds
        .join_actor() / .leave_actor()        count the calling thread as an actor (the thread that
                                              drives the runtime) / stop counting it
        .add_timeline(timeline) / .remove_timeline(timeline)
        .close()                              later waits of daemon threads block for good
        virtual = True
    Timeline (Protocol): next_instant() -> float | None, fire(instant) -> None
    Thread, Event, Condition                  threading look-alikes on the installed clock
    threading_module() / time_module()        `threading` and `time` modules to swap into code that
                                              waits (moto's interpreter); see rollgate_local.bridge
    install(clock) / uninstall()              the clock those shims use (one at a time)
    Deadlock                                  raised in every waiting actor when none can ever wake

The model is trio's MockClock(autojump_threshold=0) and SimPy's event queue. *Actors* are the threads
that do the runtime's work: the thread that drives it (join_actor), and every thread started through
the shim `Thread` (counted as active by the parent in start(), before the child runs, so the count
never touches zero in between). An actor blocked in a clock-aware wait (sleep, Event.wait,
Condition.wait, Thread.join) is not active. When no actor is active, the clock takes the earliest of
(a) the next instant of a timeline (traffic; fired with now = that instant, one at a time) and (b) the
earliest waiter's deadline (ties by the order the waits began), moves `now` there and wakes exactly
that waiter. Waking is handing over: Event.set() and Condition.notify() mark their waiters active
before they return. When every waiter waits without a deadline and no timeline has anything left,
nothing can ever happen: every waiter gets Deadlock naming what each one waits for, instead of a hang.

So virtual time passes only while everything waits: a five-minute Wait state costs nothing, and the
same inputs give the same sequence of instants however loaded the machine is. Real blocking outside
these waits (a lock, a real time.sleep in a handler) just holds the clock still while it lasts.
Timelines must not wait on the clock in fire(): they run in whichever waiting thread advances.
"""

from __future__ import annotations

import heapq
import itertools
import threading as _threading
import time as _time
import types
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

__all__ = [
    "Condition",
    "Deadlock",
    "Event",
    "Thread",
    "Timeline",
    "VirtualClock",
    "install",
    "installed_clock",
    "threading_module",
    "time_module",
    "uninstall",
]


class Deadlock(RuntimeError):
    """Every actor waits and none of them can ever be woken."""


class Timeline(Protocol):
    def next_instant(self) -> float | None: ...
    def fire(self, instant: float) -> None: ...


@dataclass(eq=False)
class _Waiter:
    deadline: float | None
    order: int
    what: str
    thread: str
    counted: bool
    woken: bool = False
    timed_out: bool = False
    error: BaseException | None = None


class VirtualClock:
    """See the module docstring."""

    virtual = True

    def __init__(self, origin: float) -> None:
        self._now = float(origin)
        self._lock = _threading.Condition(_threading.Lock())
        self._active = 0
        self._actors: set[int] = set()
        self._heap: list[tuple[float, int, _Waiter]] = []
        self._waiting: dict[int, _Waiter] = {}
        self._order = itertools.count()
        self._timelines: list[Timeline] = []
        self._advancing = False
        self._closed = False

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now().isoformat()})"

    # ---- reading -------------------------------------------------------------------------------
    def timestamp(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, tz=UTC)

    def describe(self) -> str:
        return "virtual clock (moves when everything waits)"

    # ---- waiting -------------------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Wait until now + seconds. sleep(0) waits until every other actor waits (and traffic due
        now has run), without moving the clock."""
        with self._lock:
            waiter = self._enlist(self._now + max(0.0, float(seconds)), f"sleep({seconds:g})", None)
        self._await(waiter)

    def wait_on(self, event: Any, seconds: float | None) -> bool:
        """`event.wait(seconds)` for a shim Event, in virtual seconds."""
        return bool(event.wait(seconds))

    # ---- actors --------------------------------------------------------------------------------
    def join_actor(self) -> None:
        with self._lock:
            ident = _threading.get_ident()
            if ident not in self._actors:
                self._actors.add(ident)
                self._active += 1

    def leave_actor(self) -> None:
        with self._lock:
            ident = _threading.get_ident()
            if ident in self._actors:
                self._actors.discard(ident)
                self._active -= 1
                self._lock.notify_all()

    def _spawned(self) -> None:
        """A child thread is about to start: it is active from now on (the parent still runs)."""
        with self._lock:
            self._active += 1

    def _started(self) -> None:
        with self._lock:
            self._actors.add(_threading.get_ident())

    def _finished(self) -> None:
        with self._lock:
            self._actors.discard(_threading.get_ident())
            self._active -= 1
            self._lock.notify_all()

    # ---- timelines -----------------------------------------------------------------------------
    def add_timeline(self, timeline: Timeline) -> None:
        with self._lock:
            self._timelines.append(timeline)

    def remove_timeline(self, timeline: Timeline) -> None:
        with self._lock:
            if timeline in self._timelines:
                self._timelines.remove(timeline)

    def close(self) -> None:
        """End of the runtime: nothing moves any more. Daemon threads still waiting stay blocked
        (they would otherwise go on calling a mock that is gone); anyone else waiting gets an error."""
        with self._lock:
            self._closed = True
            self._timelines.clear()
            self._lock.notify_all()

    # ---- the scheduler (all of it under self._lock) ---------------------------------------------
    def _enlist(self, deadline: float | None, what: str, queue: list[_Waiter] | None) -> _Waiter:
        counted = _threading.get_ident() in self._actors
        waiter = _Waiter(deadline, next(self._order), what, _threading.current_thread().name, counted)
        if queue is not None:
            queue[:] = [w for w in queue if not w.woken]  # drop the ones that timed out
            queue.append(waiter)
        if deadline is not None:
            heapq.heappush(self._heap, (deadline, waiter.order, waiter))
        self._waiting[waiter.order] = waiter
        if counted:
            self._active -= 1
            if self._active == 0:
                self._lock.notify_all()
        return waiter

    def _await(self, waiter: _Waiter) -> bool:
        """Block until `waiter` is woken; True if by its event or condition, False at its deadline."""
        with self._lock:
            while not waiter.woken:
                if self._closed:
                    self._blocked_for_good(waiter)
                if self._active == 0 and not self._advancing:
                    self._advance()
                    continue
                self._lock.wait()
        if waiter.error is not None:
            raise waiter.error
        return not waiter.timed_out

    def _blocked_for_good(self, waiter: _Waiter) -> None:
        self._waiting.pop(waiter.order, None)
        if _threading.current_thread().daemon:
            self._lock.release()
            try:
                _threading.Event().wait()  # never set: this thread outlived its runtime
            finally:
                self._lock.acquire()
        raise RuntimeError(f"the virtual clock is closed ({waiter.what} in {waiter.thread})")

    def _wake(self, waiter: _Waiter, *, timed_out: bool = False) -> None:
        if waiter.woken:
            return
        waiter.woken = True
        waiter.timed_out = timed_out
        self._waiting.pop(waiter.order, None)
        if waiter.counted:
            self._active += 1

    def _advance(self) -> None:
        while self._heap and self._heap[0][2].woken:
            heapq.heappop(self._heap)
        target = self._heap[0][0] if self._heap else None
        if target is not None:
            if self._fire_next_timeline(target):
                return  # one event at a time: whoever it woke runs first, then we look again
            _, _, waiter = heapq.heappop(self._heap)
            self._now = max(self._now, target)
            self._wake(waiter, timed_out=True)
            self._lock.notify_all()
            return
        if not self._waiting:
            return
        waits = "; ".join(f"{w.thread} waits for {w.what}" for w in self._waiting.values())
        error = Deadlock(f"every actor waits and nothing can wake any of them: {waits}")
        for waiter in list(self._waiting.values()):
            waiter.error = error
            self._wake(waiter)
        self._lock.notify_all()

    def _fire_next_timeline(self, target: float) -> bool:
        due: tuple[float, Timeline] | None = None
        for timeline in self._timelines:  # ties: the timeline added first
            instant = timeline.next_instant()
            if instant is not None and instant <= target and (due is None or instant < due[0]):
                due = (instant, timeline)
        if due is None:
            return False
        instant, timeline = due
        self._now = max(self._now, instant)
        self._advancing = True
        self._active += 1  # the firing thread works on the timeline's behalf
        self._lock.release()
        try:
            timeline.fire(instant)
        finally:
            self._lock.acquire()
            self._active -= 1
            self._advancing = False
            self._lock.notify_all()
        return True


# ------------------------------------------------------------------------------------------------
# threading / time look-alikes on the installed clock
# ------------------------------------------------------------------------------------------------
_installed: VirtualClock | None = None


def install(clock: VirtualClock) -> None:
    global _installed
    _installed = clock


def uninstall() -> None:
    global _installed
    _installed = None


def installed_clock() -> VirtualClock | None:
    return _installed


def _deadline(clock: VirtualClock, timeout: float | None) -> float | None:
    return None if timeout is None else clock._now + max(0.0, float(timeout))


class Event:
    """threading.Event whose wait(timeout) is in virtual seconds; set() hands activity to its
    waiters before it returns. Made while no clock is installed, it is a plain threading.Event."""

    def __init__(self) -> None:
        self._clock = _installed
        self._flag = False
        self._waiters: list[_Waiter] = []
        self._real = _threading.Event() if self._clock is None else None

    def is_set(self) -> bool:
        return self._real.is_set() if self._real is not None else self._flag

    isSet = is_set  # threading's old spelling

    def set(self) -> None:
        if self._real is not None:
            self._real.set()
            return
        clock = self._clock
        assert clock is not None
        with clock._lock:
            self._flag = True
            for waiter in self._waiters:
                clock._wake(waiter)
            self._waiters.clear()
            clock._lock.notify_all()

    def clear(self) -> None:
        if self._real is not None:
            self._real.clear()
            return
        assert self._clock is not None
        with self._clock._lock:
            self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        if self._real is not None:
            return self._real.wait(timeout)
        clock = self._clock
        assert clock is not None
        with clock._lock:
            if self._flag:
                return True
            if timeout is not None and timeout <= 0:
                return False
            waiter = clock._enlist(_deadline(clock, timeout), f"an event (timeout {timeout})", self._waiters)
        clock._await(waiter)
        return self._flag


class Condition:
    """threading.Condition whose wait(timeout) is in virtual seconds; notify() hands activity over."""

    def __init__(self, lock: Any = None) -> None:
        self._clock = _installed
        self._real = _threading.Condition(lock) if self._clock is None else None
        self._lock = lock if lock is not None else _threading.RLock()
        self._plumbing = _threading.Condition(self._lock)  # for _release_save / _acquire_restore
        self._waiters: list[_Waiter] = []

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, *args: Any) -> bool:
        return bool((self._real or self._lock).acquire(*args))

    def release(self) -> None:
        (self._real or self._lock).release()

    def wait(self, timeout: float | None = None) -> bool:
        if self._real is not None:
            return self._real.wait(timeout)
        clock = self._clock
        assert clock is not None
        with clock._lock:  # enlisted before the lock is let go: a notify cannot slip in between
            waiter = clock._enlist(_deadline(clock, timeout), f"a condition (timeout {timeout})", self._waiters)
        saved = self._plumbing._release_save()  # type: ignore[attr-defined]
        try:
            return clock._await(waiter)
        finally:
            self._plumbing._acquire_restore(saved)  # type: ignore[attr-defined]

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        result = predicate()
        if self._real is not None or timeout is None:
            while not result:
                self.wait(timeout)
                result = predicate()
            return result
        assert self._clock is not None
        end = self._clock._now + timeout
        while not result:
            remaining = end - self._clock._now
            if remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        if self._real is not None:
            self._real.notify(n)
            return
        clock = self._clock
        assert clock is not None
        with clock._lock:
            woken = 0
            while self._waiters and woken < n:
                waiter = self._waiters.pop(0)
                if not waiter.woken:
                    clock._wake(waiter)
                    woken += 1
            clock._lock.notify_all()

    def notify_all(self) -> None:
        self.notify(len(self._waiters) or 1)

    notifyAll = notify_all  # threading's old spelling


class Thread(_threading.Thread):
    """threading.Thread that is an actor of the installed clock: counted active from start() (in
    the parent) until its run ends; join(timeout) waits in virtual seconds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._virtual_clock = _installed
        self._virtual_done = Event() if self._virtual_clock is not None else None

    def start(self) -> None:
        clock = self._virtual_clock
        if clock is not None:
            clock._spawned()
        try:
            super().start()
        except BaseException:
            if clock is not None:
                clock._finished()
            raise

    def run(self) -> None:
        clock = self._virtual_clock
        if clock is None:
            super().run()
            return
        clock._started()
        try:
            super().run()
        finally:
            assert self._virtual_done is not None
            self._virtual_done.set()  # joiners are active before this actor stops counting
            clock._finished()

    def join(self, timeout: float | None = None) -> None:
        if self._virtual_done is None or _threading.current_thread() is self or not self.is_alive():
            super().join(timeout)  # (also raises for a thread never started, as threading does)
            return
        if self._virtual_done.wait(timeout):
            super().join()  # its run has ended; the thread itself is about to exit


def threading_module() -> types.ModuleType:
    """A `threading` whose Thread, Event and Condition are the look-alikes above (the rest is threading)."""
    shim = types.ModuleType("threading")
    shim.__dict__.update({k: v for k, v in vars(_threading).items() if not k.startswith("__")})
    shim.Thread = Thread  # type: ignore[attr-defined]
    shim.Event = Event  # type: ignore[attr-defined]
    shim.Condition = Condition  # type: ignore[attr-defined]
    shim._rollgate_wraps = _threading  # type: ignore[attr-defined]
    return shim


class _Time(types.ModuleType):
    """`time` whose sleep() is the installed clock's (everything else is `time`)."""

    def __init__(self) -> None:
        super().__init__("time")
        self._rollgate_wraps = _time

    def sleep(self, seconds: float) -> None:
        clock = _installed
        if clock is None:
            _time.sleep(seconds)
        else:
            clock.sleep(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


def time_module() -> types.ModuleType:
    return _Time()
