"""The release queue: one release of an application's branch runs at a time; a push that arrives
while one runs waits its turn (policy `queue`, the default) or, with `supersede`, takes over.

Each release pushed to a branch (its source names one) joins the queue of its application+branch
once its manifest is planned, before its first wave (the CheckQueue step), with a **ticket** ordered
by when the release started (the push order), and runs when it holds the queue's **slot**. The
slot is taken with a conditional write: free, already ours, or held by an execution that no longer
runs (stopped in the console, failed past RecordRelease) — the same question Reconcile and
Remediate ask before taking over a dead holder's lease. A ticket whose execution no longer runs is
dropped, so nothing a stopped execution left blocks the next one for ever. RecordRelease leaves
the queue (its ticket deleted, the slot given back) on every path.

While not its turn, the release waits (a Wait state, then CheckQueue again), at most
`queue.max_wait_seconds`; past it, it ends QUEUE_TIMEOUT with nothing deployed.

Policy `supersede` (the older release's own manifest says it): a release still waiting when a newer
push of its branch joins the queue ends SUPERSEDED, nothing deployed; a running one finishes its
current wave and stops before the next (AdvanceWave asks), SUPERSEDED, never reverting what it
promoted: the newer release carries the newest code anyway, and its own waves move every function
on from there.

Releases without a branch (a manual or console release) take no ticket and are not queued; the
per-alias deployment lease still keeps two deployments of one function apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import Field

from rollgate.contract import QueueNext, ReleaseNext, Status
from rollgate.domain.shared.models import Lenient, Strict
from rollgate.domain.shared.records import FunctionOutcome

if TYPE_CHECKING:
    from rollgate.domain.release.waves import ReleaseContext

#: Execution statuses of a release that still runs (a FAILED one waiting for a redrive is not:
#: nobody may be waiting on a redrive that never comes).
_RUNNING = frozenset({"RUNNING"})
#: How long a ticket outlives its release in the table if nothing deletes it (DynamoDB TTL).
TICKET_TTL = timedelta(days=30)


class QueuePolicy(Strict):
    """What happens to this release when a newer push of its branch arrives while it waits or runs."""

    on_newer_push: Literal["queue", "supersede"] = Field(
        default="queue",
        description=(
            "queue: the newer push waits until this release concludes; supersede: the newer push takes over "
            "(this release ends SUPERSEDED if still queued, or after its current wave if running, never "
            "reverting what it promoted)"
        ),
    )
    max_wait_seconds: int = Field(
        default=86_400,
        ge=0,
        le=14 * 86_400,
        description="a release still queued after this long ends QUEUE_TIMEOUT, nothing deployed",
    )
    poll_interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="how often a queued release asks whether it is its turn"
    )


# --------------------------------------------------------------------------- stored values
def queue_key(application: str, branch: str) -> str:
    return f"{application}#{branch}"


def ticket_position(started_at: datetime, execution_name: str) -> str:
    """Sortable as text: the release's start (UTC, microseconds), then its execution name."""
    moment = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return f"{moment.astimezone(UTC).isoformat(timespec='microseconds')}#{execution_name}"


@dataclass(frozen=True)
class Ticket:
    """One release in a branch's queue (waiting, or running with the slot)."""

    position: str
    execution_name: str
    execution_arn: str | None
    release_id: str
    commit: str | None
    policy: Literal["queue", "supersede"]
    joined_at: datetime

    def describe(self) -> str:
        commit = f" (commit {self.commit[:12]})" if self.commit else ""
        return f"release {self.release_id}{commit}, execution {self.execution_name}"


@dataclass(frozen=True)
class Slot:
    """Who runs now: the execution holding the queue."""

    holder: str  # the execution name
    execution_arn: str | None
    release_id: str
    acquired_at: datetime
    position: str = ""

    def describe(self) -> str:
        return f"release {self.release_id}, execution {self.holder}"


class QueueStore(Protocol):
    """The queues in the ledger table (rollgate.aws.release_queue)."""

    def join(self, queue: str, ticket: Ticket) -> None:
        """Write the ticket unless it is there already (a retried step keeps its first one)."""
        ...

    def tickets(self, queue: str) -> list[Ticket]:
        """Every ticket of the queue, oldest first."""
        ...

    def slot(self, queue: str) -> Slot | None: ...
    def take_slot(self, queue: str, slot: Slot, *, replacing: str | None) -> bool:
        """Conditional write: the slot is free, already `slot.holder`'s, or still held by
        `replacing` (a holder seen to have ended). False when someone else holds it."""
        ...

    def remove_ticket(self, queue: str, position: str) -> None:
        """Idempotent."""
        ...

    def release_slot(self, queue: str, holder: str) -> bool:
        """Give the slot back if `holder` holds it (conditional); False when it does not."""
        ...


class ExecutionStatus(Protocol):
    def status(self, execution_arn: str) -> str | None:
        """RUNNING, or how it ended; None when there is no such execution."""
        ...


# --------------------------------------------------------------------------- the answer
class QueueStatus(Lenient):
    """CheckQueue's answer (`$.queue`), kept for the record and `rollgate watch`."""

    application: str
    branch: str
    position: str = Field(description="this release's ticket: its start time and execution name")
    policy: Literal["queue", "supersede"] = "queue"
    next: Literal["run", "wait", "superseded", "timed_out"]
    reason: str
    waiting_for: str | None = Field(default=None, description="the release this one waits behind")
    ahead: int = Field(default=0, description="releases of the branch before this one")
    superseded_by: str | None = None
    joined_at: datetime
    checked_at: datetime
    polls: int = 1
    poll_interval_seconds: int = 60
    running_since: datetime | None = Field(default=None, description="when it took the slot")

    @property
    def queue(self) -> str:
        return queue_key(self.application, self.branch)


@dataclass(frozen=True)
class Decision:
    next: QueueNext
    reason: str
    waiting_for: str | None = None
    ahead: int = 0
    superseded_by: str | None = None
    take_over: str | None = None  # the dead holder the slot is taken from


def decide(
    me: Ticket,
    tickets: Sequence[Ticket],
    slot: Slot | None,
    *,
    slot_alive: bool,
    policy: QueuePolicy,
    now: datetime,
    joined_at: datetime,
) -> Decision:
    """Pure: this release's turn. `tickets` are the queue's live tickets (dead ones dropped by the
    caller), `slot_alive` whether the slot's holder still runs. TAKE is said as RUN with the dead
    or absent holder to replace; the caller's conditional write decides."""
    if slot is not None and slot.holder == me.execution_name:
        return Decision(QueueNext.RUN, "holds its branch's queue")
    newer = [t for t in tickets if t.position > me.position]
    if policy.on_newer_push == "supersede" and newer:
        return Decision(
            QueueNext.SUPERSEDED,
            f"superseded while queued by a newer push: {newer[-1].describe()}",
            superseded_by=newer[-1].release_id,
        )
    # an older ticket that a newer push (this one) supersedes is not waited for: it ends at its next poll
    ahead = [t for t in tickets if t.position < me.position and t.execution_name != (slot.holder if slot else None)]
    ahead = [t for t in ahead if t.policy != "supersede"]
    blocking: str | None = None
    if slot is not None and slot_alive:
        blocking = f"waiting for {slot.describe()}, which holds the queue"
    elif ahead:
        blocking = f"waiting behind {ahead[0].describe()}, queued first"
    if blocking is None:
        take_over = slot.holder if slot is not None else None
        why = f"{slot.describe()} no longer runs; " if slot is not None else ""
        return Decision(QueueNext.RUN, f"{why}its turn in its branch's queue", take_over=take_over)
    count = len(ahead) + (1 if slot is not None and slot_alive else 0)
    waiting_for = slot.describe() if slot is not None and slot_alive else ahead[0].describe()
    waited = (now - joined_at).total_seconds()
    if waited >= policy.max_wait_seconds:
        return Decision(
            QueueNext.TIMED_OUT,
            f"waited {waited:.0f} s in the queue (max_wait_seconds {policy.max_wait_seconds}), {blocking}",
            waiting_for=waiting_for,
            ahead=count,
        )
    return Decision(QueueNext.WAIT, blocking, waiting_for=waiting_for, ahead=count)


# --------------------------------------------------------------------------- the steps
def _alive(execution_arn: str | None, executions: ExecutionStatus, me: str | None) -> bool:
    """Whether an execution still runs; one that cannot be asked about (no ARN) counts as running,
    and is bounded by max_wait_seconds instead."""
    if not execution_arn or execution_arn == me:
        return True
    return executions.status(execution_arn) in _RUNNING


def _live_tickets(queue: str, store: QueueStore, executions: ExecutionStatus, me: Ticket) -> list[Ticket]:
    """The queue's tickets whose releases still run; the others are dropped from the table."""
    live = []
    for ticket in store.tickets(queue):
        if ticket.position == me.position or _alive(ticket.execution_arn, executions, me.execution_arn):
            live.append(ticket)
        else:
            store.remove_ticket(queue, ticket.position)
    if all(t.position != me.position for t in live):
        live.append(me)
        live.sort(key=lambda t: t.position)
    return live


def check_queue(
    ctx: ReleaseContext, *, store: QueueStore, executions: ExecutionStatus, now: datetime
) -> ReleaseContext:
    """CheckQueue: join the branch's queue (once), then run, wait, or end (superseded, timed out)."""
    plan, branch = ctx.plan, ctx.request.source.branch
    if plan is None or branch is None:  # not a push to a branch: nothing to queue behind
        return ctx.model_copy(update={"queue": None})
    policy = plan.queue
    earlier = ctx.queue
    queue = queue_key(plan.application, branch)
    me = Ticket(
        position=earlier.position if earlier else ticket_position(ctx.started_at, ctx.execution_name),
        execution_name=ctx.execution_name,
        execution_arn=ctx.execution_arn,
        release_id=ctx.release_id,
        commit=ctx.request.source.commit,
        policy=policy.on_newer_push,
        joined_at=earlier.joined_at if earlier else now,
    )
    store.join(queue, me)
    tickets = _live_tickets(queue, store, executions, me)
    slot = store.slot(queue)
    slot_alive = slot is not None and _alive(slot.execution_arn, executions, ctx.execution_arn)
    decision = decide(me, tickets, slot, slot_alive=slot_alive, policy=policy, now=now, joined_at=me.joined_at)
    running_since = earlier.running_since if earlier else None
    if decision.next is QueueNext.RUN and not (slot is not None and slot.holder == me.execution_name):
        mine = Slot(
            holder=me.execution_name,
            execution_arn=me.execution_arn,
            release_id=me.release_id,
            acquired_at=now,
            position=me.position,
        )
        if store.take_slot(queue, mine, replacing=decision.take_over):
            running_since = now
        else:
            decision = Decision(QueueNext.WAIT, "another release of the branch took the queue first")
    elif decision.next is QueueNext.RUN and slot is not None:
        running_since = running_since or slot.acquired_at
    status = QueueStatus(
        application=plan.application,
        branch=branch,
        position=me.position,
        policy=policy.on_newer_push,
        next=decision.next.value,
        reason=decision.reason,
        waiting_for=decision.waiting_for,
        ahead=decision.ahead,
        superseded_by=decision.superseded_by,
        joined_at=me.joined_at,
        checked_at=now,
        polls=(earlier.polls + 1) if earlier else 1,
        poll_interval_seconds=policy.poll_interval_seconds,
        running_since=running_since,
    )
    ctx = ctx.model_copy(update={"queue": status})
    if decision.next in (QueueNext.SUPERSEDED, QueueNext.TIMED_OUT):
        return _ended_before(ctx, 0, decision.reason)
    return ctx


def supersede_between_waves(
    ctx: ReleaseContext, *, store: QueueStore, executions: ExecutionStatus, now: datetime
) -> ReleaseContext:
    """After AdvanceWave chose the next wave: with policy supersede and a newer push of the branch
    queued, stop here (SUPERSEDED): the waves left do not run, and nothing promoted is reverted."""
    queued = ctx.queue
    if queued is None or ctx.plan is None or ctx.plan.queue.on_newer_push != "supersede":
        return ctx
    if ctx.next not in (ReleaseNext.WAVE.value, ReleaseNext.APPROVE.value):
        return ctx
    newer = [
        t
        for t in store.tickets(queued.queue)
        if t.position > queued.position and _alive(t.execution_arn, executions, ctx.execution_arn)
    ]
    if not newer:
        return ctx
    reason = f"superseded by a newer push after wave {ctx.wave_index}: {newer[-1].describe()}"
    status = queued.model_copy(
        update={
            "next": QueueNext.SUPERSEDED.value,
            "reason": reason,
            "superseded_by": newer[-1].release_id,
            "checked_at": now,
        }
    )
    return _ended_before(ctx.model_copy(update={"queue": status}), ctx.wave_index, reason)


def _ended_before(ctx: ReleaseContext, wave_index: int, reason: str) -> ReleaseContext:
    """The waves from `wave_index` on do not run; nothing is reverted (a superseded or timed-out
    release leaves what it promoted to the release after it)."""
    assert ctx.plan is not None
    later = [FunctionOutcome.not_started(p, reason) for wave in ctx.plan.waves[wave_index:] for p in wave]
    kept = [o for o in ctx.outcomes if o.wave < wave_index]
    return ctx.model_copy(
        update={"outcomes": [*kept, *later], "next": ReleaseNext.DONE.value, "revert": [], "revert_reason": reason}
    )


def leave_queue(ctx: ReleaseContext, *, store: QueueStore) -> None:
    """RecordRelease, on every path: the ticket deleted, the slot given back if held (both
    idempotent and conditional on this release: never another's)."""
    if ctx.queue is None:
        return
    store.remove_ticket(ctx.queue.queue, ctx.queue.position)
    store.release_slot(ctx.queue.queue, ctx.execution_name)


def queue_outcome(ctx: ReleaseContext) -> tuple[Status, str] | None:
    """The release's status when the queue ended it (RecordRelease), else None."""
    if ctx.queue is None:
        return None
    if ctx.queue.next == QueueNext.SUPERSEDED.value:
        return Status.SUPERSEDED, ctx.queue.reason
    if ctx.queue.next == QueueNext.TIMED_OUT.value:
        return Status.QUEUE_TIMEOUT, ctx.queue.reason
    return None
