"""`Deployment Step Changed`: what the canary and watch tasks put on the bus for every traffic move
and every verdict (rollgate.domain.shared.progress, rollgate.tasks._progress), and the per-period series
the judges keep in their evidence for `rollgate report`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate.domain.deploy import canary, publish, start, update
from rollgate.domain.deploy.preflight import run_preflight
from rollgate.domain.judge.health import Outcome, PeriodStats
from rollgate.domain.shared import smoke
from rollgate.domain.shared.errors import TransientAwsError
from rollgate.domain.shared.models import DeploymentContext
from rollgate.domain.shared.progress import PROGRESS_SOURCE, SERIES_CHECK, STEP_CHANGED, promotion_step
from rollgate.tasks._progress import announce_step
from tests.unit.conftest import World, request_for
from tests.unit.fakes import ARTIFACTS


class RecordingBus:
    """The EventBridge publisher's surface the tasks use: `with_source(...).publish(...)`."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.put: list[tuple[str, str, dict[str, Any]]] = []
        self.failure = failure
        self.source = "rollgate"

    def with_source(self, source: str) -> RecordingBus:
        self.source = source
        return self

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        if self.failure is not None:
            raise self.failure
        self.put.append((self.source, detail_type, detail))


class Deps:
    def __init__(self, bus: RecordingBus) -> None:
        self.events = bus


def _traffic(world: World, version: str, *, per_minute: float, errors: float, p95: float) -> None:
    begin = world.clock.now() - timedelta(minutes=10)
    world.metrics.series[version] = [
        PeriodStats(start=begin + timedelta(minutes=i), invocations=per_minute, errors=errors, throttles=0, p95_ms=p95)
        for i in range(60)
    ]


def _ready_for_the_canary(world: World, **overrides: Any) -> DeploymentContext:
    """The context as the state machine has it after the smoke gate."""
    ctx = start.start_deployment(
        request_for(**overrides),
        {"Name": "exec-1", "Id": "arn:exec:1"},
        ledger=world.ledger,
        clock=world.clock,
        lease_seconds=3600,
    )
    ctx = ctx.model_copy(
        update={
            "baseline": run_preflight(
                ctx, lambda_api=world.lambda_api, artifacts=ARTIFACTS, probes=world.probes, clock=world.clock
            )
        }
    )
    progress = update.converge_latest(ctx, lambda_api=world.lambda_api, clock=world.clock)
    while progress.status == "InProgress":
        world.clock.advance(progress.poll_interval_seconds)
        progress = update.converge_latest(
            ctx.model_copy(update={"update": progress}), lambda_api=world.lambda_api, clock=world.clock
        )
    ctx = ctx.model_copy(update={"update": progress})
    ctx = ctx.model_copy(update={"version": publish.publish(ctx, lambda_api=world.lambda_api, clock=world.clock)})
    report = smoke.run_smoke_tests(
        ctx.function_name,
        ctx.require_version().version,
        ctx.request.smoke_tests,
        lambda_api=world.lambda_api,
        clock=world.clock,
    )
    return ctx.model_copy(update={"smoke": report})


def test_a_canary_step_and_each_verdict_are_announced_with_the_weight_and_the_verdict(world: World) -> None:
    # given a deployment ready for its 10% canary
    ctx = _ready_for_the_canary(world)
    bus = RecordingBus()
    # when the alias shifts, then the judge answers HEALTHY
    shifted = canary.shift_traffic(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    announce_step(ctx, shifted, "shift", Deps(bus))  # type: ignore[arg-type]
    ctx = ctx.model_copy(update={"canary": shifted})
    world.clock.advance(60)
    judged = canary.judge_canary(
        ctx,
        lambda_api=world.lambda_api,
        probes=world.probes,
        ledger=world.ledger,
        clock=world.clock,
        judge_fn=world.judge,
    )
    announce_step(ctx, judged, "judge", Deps(bus))  # type: ignore[arg-type]
    # then two step events went out, on the progress source (not the outcomes' `rollgate`)
    assert [(source, kind) for source, kind, _ in bus.put] == [(PROGRESS_SOURCE, STEP_CHANGED)] * 2
    move, verdict = (detail for _, _, detail in bus.put)
    assert move["deployment_id"] == ctx.deployment_id
    assert (move["function_name"], move["alias"], move["phase"], move["step"]) == (
        "orders-api",
        "live",
        "canary",
        "shift",
    )
    assert (move["weight"], move["verdict"], move["next"]) == (10, None, "bake")
    assert (move["new_version"], move["previous_version"]) == ("2", "1")
    assert move["message"] == "orders-api:live canary: shift, v2 now takes 10% -> bake"
    assert (verdict["step"], verdict["weight"], verdict["verdict"], verdict["next"]) == ("judge", 10, "HEALTHY", "bake")
    assert verdict["decided_by"] == "organic_paired"
    assert verdict["summary"] == "stub judge says HEALTHY"
    assert datetime.fromisoformat(verdict["at"]) == world.clock.now()


def test_the_promotion_and_the_watch_verdicts_carry_the_new_versions_share(world: World) -> None:
    # given a canary that has just said promote
    ctx = _ready_for_the_canary(world)
    shifted = canary.shift_traffic(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    ctx = ctx.model_copy(update={"canary": shifted.model_copy(update={"next": "promote"})})
    bus = RecordingBus()
    # when Promote moves the alias (5% holdback) and the watch judges UNHEALTHY
    assert promotion_step(ctx) == "promote"
    watch = canary.promote_version(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    announce_step(ctx, watch, promotion_step(ctx), Deps(bus))  # type: ignore[arg-type]
    ctx = ctx.model_copy(update={"watch": watch})
    world.clock.advance(60)
    world.verdicts = [Outcome.UNHEALTHY]
    judged = canary.judge_watch(ctx, probes=world.probes, ledger=world.ledger, clock=world.clock, judge_fn=world.judge)
    announce_step(ctx, judged, "judge", Deps(bus))  # type: ignore[arg-type]
    # then the promotion says 95% and the verdict says UNHEALTHY at 95%, rolling back
    promoted, breached = (detail for _, _, detail in bus.put)
    assert (promoted["phase"], promoted["step"], promoted["weight"], promoted["next"]) == (
        "watch",
        "promote",
        95,
        "watch",
    )
    assert (breached["phase"], breached["step"], breached["weight"]) == ("watch", "judge", 95)
    assert (breached["verdict"], breached["next"]) == ("UNHEALTHY", "rollback")
    assert "UNHEALTHY with v2 at 95%" in breached["message"]


def test_an_artifact_already_live_announces_no_move(world: World) -> None:
    # given a request for the build that is already live
    ARTIFACTS.put("artifacts", "orders/again.zip", ARTIFACTS.blobs[("artifacts", "orders/v1.zip")])
    ctx = _ready_for_the_canary(world, artifact={"bucket": "artifacts", "key": "orders/again.zip"})
    assert ctx.require_baseline().already_live
    bus = RecordingBus()
    # when ShiftTraffic and Promote run (they move nothing)
    shifted = canary.shift_traffic(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    announce_step(ctx, shifted, "shift", Deps(bus))  # type: ignore[arg-type]
    ctx = ctx.model_copy(update={"canary": shifted})
    watch = canary.promote_version(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    announce_step(ctx, watch, promotion_step(ctx), Deps(bus))  # type: ignore[arg-type]
    # then nothing is announced
    assert bus.put == []


@pytest.mark.parametrize(
    "failure",
    [
        TransientAwsError("events:PutEvents: InternalFailure"),
        ClientError({"Error": {"Code": "AccessDeniedException", "Message": "bus policy"}}, "PutEvents"),
    ],
    ids=["past-retries", "denied"],
)
def test_a_progress_event_that_cannot_be_put_does_not_fail_the_gate(world: World, failure: Exception) -> None:
    # given a bus that keeps refusing, or denies
    ctx = _ready_for_the_canary(world)
    bus = RecordingBus(failure=failure)
    shifted = canary.shift_traffic(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    # when the task announces its move, then it goes on (no exception) and nothing was put
    announce_step(ctx, shifted, "shift", Deps(bus))  # type: ignore[arg-type]
    assert bus.put == []


def test_the_judged_periods_of_both_versions_are_kept_in_the_evidence(world: World) -> None:
    # given v1 and v2 behind the alias: v2 fails 2 of 30 a minute and is slower
    ctx = _ready_for_the_canary(world)
    shifted = canary.shift_traffic(ctx, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    ctx = ctx.model_copy(update={"canary": shifted})
    _traffic(world, "1", per_minute=270, errors=0, p95=80.0)
    _traffic(world, "2", per_minute=30, errors=2, p95=131.25)
    world.clock.advance(180)
    # when the canary is judged
    judged = canary.judge_canary(
        ctx,
        lambda_api=world.lambda_api,
        probes=world.probes,
        ledger=world.ledger,
        clock=world.clock,
        judge_fn=world.judge,
    )
    # then one `series` evidence holds the periods since the canary began, both versions per row
    [series] = [e for e in judged.evidence if e.check == SERIES_CHECK]
    data = series.data
    assert (data["phase"], data["new_version"], data["previous_version"]) == ("canary", "2", "1")
    assert data["period_seconds"] == 60
    assert data["columns"][1:] == [
        "new_invocations",
        "new_errors",
        "new_p95_ms",
        "previous_invocations",
        "previous_errors",
        "previous_p95_ms",
    ]
    assert [row[0] for row in data["periods"]] == [0, 60, 120]
    assert all(row[1:] == [30, 2, 131.2, 270, 0, 80] for row in data["periods"])
    assert data["verdicts"] == [[world.clock.now().isoformat(), "HEALTHY", 10, "organic_paired"]]
    # and a second judgement replaces it instead of adding another
    ctx = ctx.model_copy(update={"canary": judged})
    world.clock.advance(60)
    again = canary.judge_canary(
        ctx,
        lambda_api=world.lambda_api,
        probes=world.probes,
        ledger=world.ledger,
        clock=world.clock,
        judge_fn=world.judge,
    )
    [series] = [e for e in again.evidence if e.check == SERIES_CHECK]
    assert len(series.data["periods"]) == 4
    assert len(series.data["verdicts"]) == 2
