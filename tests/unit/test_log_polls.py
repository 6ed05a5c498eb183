"""Log polls between the judgements: the versions' log lines read every few seconds, so a new error
signature fails the canary seconds after the lines are ingested instead of a metric period later,
while a poll never shifts, promotes or counts as healthy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rollgate.domain.judge.health import EvidenceKind, LogSeries
from rollgate.domain.judge.log_lines import LogEvent, summarise
from rollgate.domain.shared.models import DeploymentRequest
from rollgate.domain.shared.ports import HealthProbes
from rollgate.domain.shared.validation import MAX_WAIT_LOOPS
from tests.unit.conftest import World, drive, request_for

NEW, STABLE = "2", "1"
POLLED = {"log_poll_seconds": 10}
SIGNATURE = "caught KeyError: 'customer' while pricing order 12"


@dataclass
class FakeLogs:
    """Both versions' log lines as CloudWatch Logs holds them: each version serves one request every
    `every` seconds (the split of a 10% canary), each line readable `ingest` seconds after it was
    written. The new version logs SIGNATURE on every request while `broken`."""

    world: World
    broken: bool = False
    every: dict[str, float] = field(default_factory=lambda: {NEW: 1.0, STABLE: 0.1})
    ingest: float = 2.0
    reads: list[tuple[str, datetime, datetime]] = field(default_factory=list)

    def version_logs(
        self, function_name: str, version: str, start: datetime, end: datetime, *, max_events: int
    ) -> LogSeries:
        self.reads.append((version, start, end))
        visible = min(end, self.world.clock.now() - timedelta(seconds=self.ingest))
        reports, errors = [], []
        step, i = self.every[version], 0
        while (at := start + timedelta(seconds=step * i)) < visible:
            request_id = f"{i:08x}-0000-4000-8000-{i:012x}"
            reports.append(
                LogEvent(at, f"2026/12/02/[{version}]abc", f"REPORT RequestId: {request_id}\tDuration: 9 ms")
            )
            if self.broken and version == NEW:
                line = f"[ERROR]\t2026-12-02T12:00:00.000Z\t{request_id}\t{SIGNATURE}"
                errors.append(LogEvent(at, f"2026/12/02/[{version}]abc", line))
            i += 1
        return summarise(version, reports, errors)


def _with_logs(world: World, *, broken: bool) -> tuple[World, FakeLogs]:
    # the full judgements are the stub's (HEALTHY unless told otherwise); the polls judge the logs for real
    logs = FakeLogs(world, broken=broken)
    world.probes_override = HealthProbes(metrics=world.metrics, queues=world.queues, alarms=world.alarms, logs=logs)
    return world, logs


def test_a_new_error_signature_rolls_the_canary_back_at_a_log_poll_before_the_first_judgement(world: World) -> None:
    world, logs = _with_logs(world, broken=True)
    result = drive(world, request_for(health=POLLED))
    assert result["status"] == "ROLLED_BACK"
    run = world.runs[-1]
    assert run.time_to_detect_seconds is not None
    # the first full judgement of the canary is a metric period after the shift; the polls came first
    assert run.time_to_detect_seconds < 60
    (verdict,) = [v for v in run.verdicts if v.outcome == "UNHEALTHY"]
    assert verdict.decided_by == EvidenceKind.LOGS.value
    assert "between judgements" in verdict.summary and "caught KeyError" in verdict.summary
    assert "caught KeyError" in result["reason"]
    # a poll reads the logs only: no metric window was judged before the rollback
    assert world.windows == []
    assert {version for version, _, _ in logs.reads} == {NEW, STABLE}


def test_polls_of_clean_logs_change_nothing_and_the_judgements_decide(world: World) -> None:
    world, logs = _with_logs(world, broken=False)
    result = drive(world, request_for(health=POLLED))
    assert result["status"] == "PROMOTED"
    run = world.runs[-1]
    # the polls ran (the logs were read between the judgements) and recorded no verdict of their own
    assert len(logs.reads) > 2 * len(world.windows)
    assert all("log poll" not in v.summary for v in run.verdicts)
    assert len(run.verdicts) == len(world.windows)


def test_without_a_log_source_the_polls_read_nothing_and_promote_as_before(world: World) -> None:
    assert drive(world, request_for(health=POLLED))["status"] == "PROMOTED"
    assert len(world.runs[-1].verdicts) == len(world.windows)


def test_with_log_polls_off_only_the_judgements_look(world: World) -> None:
    world, logs = _with_logs(world, broken=True)
    result = drive(world, request_for(health={"log_poll_seconds": None}))
    # the logs were read at the judgements only (the stub judge, told HEALTHY, decides there)
    assert result["status"] == "PROMOTED"
    assert len(logs.reads) == 2 * len(world.windows) > 0
    assert len(world.runs[-1].verdicts) == len(world.windows)


def test_a_long_watch_polls_less_often_so_the_execution_history_holds_every_look() -> None:
    request = DeploymentRequest.model_validate(request_for(watch_seconds=86_400, health=POLLED))
    poll = request.log_poll_seconds()
    assert poll is not None and poll > request.health.log_poll_seconds
    judged = len(request.strategy.steps) * request.strategy.interval_seconds + request.watch_seconds
    assert request.wait_loops() + judged // poll <= MAX_WAIT_LOOPS
    assert DeploymentRequest.model_validate(request_for(health=POLLED)).log_poll_seconds() == 10
    assert DeploymentRequest.model_validate(request_for()).log_poll_seconds() == 10  # on by default
    off = {"log_poll_seconds": None}
    assert DeploymentRequest.model_validate(request_for(health=off)).log_poll_seconds() is None
