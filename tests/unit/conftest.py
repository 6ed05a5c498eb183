"""A world of fakes, and a driver that runs the gates the way the DeployFunction state machine does:
the canary and the watch through rollgate.domain.deploy.gate_loop (the shipped "what next"), the gates
around them in order (the workflow tests run the real state machine; this keeps domain tests fast
and offline)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from rollgate.domain.deploy import (
    concurrency,
    gate_loop,
    hooks,
    outcome,
    preflight,
    prune,
    publish,
    rollback,
    start,
    update,
)
from rollgate.domain.judge import verdict as judge
from rollgate.domain.judge.health import Check, CheckStatus, EvidenceKind, Outcome, Verdict
from rollgate.domain.shared import smoke
from rollgate.domain.shared.errors import RollgateError
from rollgate.domain.shared.models import DeploymentContext, StepError
from rollgate.domain.shared.ports import HealthProbes
from tests.unit.fakes import (
    ARTIFACTS,
    FakeAlarms,
    FakeClock,
    FakeEvents,
    FakeHooks,
    FakeImages,
    FakeLambda,
    FakeLedger,
    FakeMetrics,
    FakeQueues,
)

GOOD_ZIP = b"PK-good-build"
V1_ZIP = b"PK-v1-build"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never touch the network."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unit tests must not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@dataclass
class World:
    clock: FakeClock = field(default_factory=FakeClock)
    lambda_api: FakeLambda = field(default_factory=FakeLambda)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    queues: FakeQueues = field(default_factory=FakeQueues)
    alarms: FakeAlarms = field(default_factory=FakeAlarms)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    events: FakeEvents = field(default_factory=FakeEvents)
    hooks: FakeHooks = field(default_factory=FakeHooks)
    images: FakeImages = field(default_factory=FakeImages)
    verdicts: list[Outcome] = field(default_factory=list)  # what the stub judge answers, in order
    windows: list[Any] = field(default_factory=list)  # what the stub judge was shown, in order
    runs: list[gate_loop.GateRun] = field(default_factory=list)
    shipped_judge: bool = False  # judge with rollgate.domain.judge.verdict instead of the `verdicts` stub

    probes_override: HealthProbes | None = None  # a test's own probes instead of the fakes

    @property
    def probes(self) -> HealthProbes:
        return self.probes_override or HealthProbes(metrics=self.metrics, queues=self.queues, alarms=self.alarms)

    @property
    def ports(self) -> gate_loop.GatePorts:
        return gate_loop.GatePorts(lambda_api=self.lambda_api, ledger=self.ledger, probes=self.probes, clock=self.clock)

    def judge(self, window: Any, policy: Any) -> Verdict:
        self.windows.append(window)
        if self.shipped_judge:
            return judge.judge(window, policy)
        outcome_ = self.verdicts.pop(0) if self.verdicts else Outcome.HEALTHY
        checks = []
        if outcome_ is Outcome.UNHEALTHY:
            checks.append(Check(name="errors", status=CheckStatus.FAIL, summary="canary errors 9/40 vs stable 0/400"))
        return Verdict(
            outcome=outcome_,
            summary=f"stub judge says {outcome_.value}",
            checks=checks,
            samples_seen=100,
            decided_by=EvidenceKind.ORGANIC_PAIRED,
        )


@pytest.fixture
def world() -> World:
    ARTIFACTS.blobs.clear()
    ARTIFACTS.put("artifacts", "orders/v2.zip", GOOD_ZIP)
    ARTIFACTS.put("artifacts", "orders/v1.zip", V1_ZIP)
    w = World()
    w.lambda_api.add_function("orders-api", V1_ZIP, env={"TABLE": "orders"})
    return w


def request_for(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "function_name": "orders-api",
        "artifact": {"bucket": "artifacts", "key": "orders/v2.zip"},
        "strategy": {"type": "canary", "steps": [10], "interval_seconds": 300},
        "smoke_tests": [{"name": "ping", "payload": {"ping": True}}],
        "watch_seconds": 120,
    }
    # judged once a metric period, so that the scripted verdicts (world.verdicts, one per
    # judgement) line up with periods; a test's own health settings are merged over this
    health = {"canary_judge_seconds": 60, **(overrides.pop("health", None) or {})}
    body.update(overrides)
    body["health"] = health
    return body


def gates(w: World) -> dict[str, Callable[[DeploymentContext], Any]]:
    """The gates before and after the canary and watch (which run through gate_loop), bound to the
    world's fakes: what the task handlers do with boto3."""
    return {
        "preflight": lambda c: preflight.run_preflight(
            c,
            lambda_api=w.lambda_api,
            artifacts=ARTIFACTS,
            probes=w.probes,
            clock=w.clock,
            images=w.images,
        ),
        "update": lambda c: update.converge_latest(c, lambda_api=w.lambda_api, clock=w.clock),
        "publish": lambda c: publish.publish(c, lambda_api=w.lambda_api, clock=w.clock),
        "smoke": lambda c: smoke.require_smoke_pass(
            smoke.run_smoke_tests(
                c.function_name,
                c.require_version().version,
                c.request.smoke_tests,
                lambda_api=w.lambda_api,
                clock=w.clock,
            ),
            c.function_name,
        ),
        "pre_traffic": lambda c: hooks.run_hook(c, "pre_traffic", hooks=w.hooks, clock=w.clock),
        "concurrency": lambda c: concurrency.converge_concurrency(c, lambda_api=w.lambda_api),
        "post_traffic": lambda c: hooks.run_hook(c, "post_traffic", hooks=w.hooks, clock=w.clock),
        "release_concurrency": lambda c: concurrency.release_previous(c, lambda_api=w.lambda_api),
        "prune": lambda c: prune.prune_after_promotion(c, lambda_api=w.lambda_api, ledger=w.ledger, clock=w.clock),
        "rollback": lambda c: rollback.roll_back(c, lambda_api=w.lambda_api, clock=w.clock),
    }


def steps_taken(path: list[str]) -> list[str]:
    """A gate run's path with repeated looks of one gate as one step: the log polls between two
    judgements run the same task (rollgate.domain.deploy.canary)."""
    return [module for i, module in enumerate(path) if i == 0 or path[i - 1] != module]


def drive(world: World, raw_request: dict[str, Any], execution: str = "exec-1") -> dict[str, Any]:
    """Route the gates like the state machine: Wait states advance the fake clock."""
    ctx = start.start_deployment(
        raw_request,
        {"Name": execution, "Id": f"arn:exec:{execution}"},
        ledger=world.ledger,
        clock=world.clock,
        lease_seconds=3600,
    )
    doc = ctx.model_dump(mode="json")
    gate = gates(world)

    def step(key: str, name: str) -> Any:
        result = gate[name](DeploymentContext.model_validate(doc))
        doc[key] = result.model_dump(mode="json")
        return result

    def caught(error: RollgateError) -> None:
        doc["error"] = StepError(Error=type(error).__name__, Cause=str(error)).model_dump()

    try:
        step("baseline", "preflight")
        progress = step("update", "update")
        while progress.status == "InProgress":
            world.clock.advance(progress.poll_interval_seconds)
            progress = step("update", "update")
        step("version", "publish")
        step("smoke", "smoke")
        step("pre_traffic", "pre_traffic")
    except RollgateError as error:
        caught(error)
        return finish(world, doc)
    try:  # from the first allocation on, a failure goes through Rollback
        pc = step("concurrency", "concurrency")
        while pc.status == "InProgress":
            world.clock.advance(pc.poll_interval_seconds)
            pc = step("concurrency", "concurrency")
    except RollgateError as error:
        caught(error)
        step("rollback", "rollback")
        return finish(world, doc)
    # the canary and the watch: the shipped loop, the same routing as the state machine
    run = gate_loop.run_gates(DeploymentContext.model_validate(doc), world.ports, judge=world.judge)
    world.runs.append(run)
    doc = run.context.model_dump(mode="json")
    if run.conclusion != "ROLLED_BACK":
        try:
            step("post_traffic", "post_traffic")
        except RollgateError as error:
            caught(error)
            step("rollback", "rollback")
            return finish(world, doc)
        for key, name in (("concurrency", "release_concurrency"), ("prune", "prune")):
            try:  # housekeeping: a failure is recorded, the promotion stands
                result = gate[name](DeploymentContext.model_validate(doc))
                if result is not None:
                    doc[key] = result.model_dump(mode="json")
            except RollgateError as error:
                doc["cleanup_error"] = StepError(Error=type(error).__name__, Cause=str(error)).model_dump()
        return finish(world, doc)
    step("rollback", "rollback")
    return finish(world, doc)


def finish(world: World, doc: dict[str, Any]) -> dict[str, Any]:
    ctx = DeploymentContext.model_validate(doc)
    return outcome.conclude(ctx, ledger=world.ledger, events=world.events, clock=world.clock).model_dump(mode="json")
