"""`rollgate report`'s data (rollgate_cli.report.report_data) from ledger records the shipped gate loop
writes on fakes: the weights as they moved, the verdicts, the periods of both versions."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from rollgate.domain.judge.health import HealthWindow, Outcome, PeriodStats, Verdict
from rollgate.domain.shared.models import HealthPolicy
from rollgate.domain.shared.records import DeploymentRecord
from rollgate_cli.report import render_png, report_data
from tests.unit.conftest import World, drive, request_for


def _traffic(world: World, version: str, *, per_minute: float, errors: float, p95: float) -> None:
    begin = world.clock.now() - timedelta(minutes=10)
    world.metrics.series[version] = [
        PeriodStats(start=begin + timedelta(minutes=i), invocations=per_minute, errors=errors, throttles=0, p95_ms=p95)
        for i in range(60)
    ]


def _record(world: World, result: dict[str, object]) -> DeploymentRecord:
    record = world.ledger.get_deployment("orders-api", "live", str(result["deployment_id"]))
    assert isinstance(record, DeploymentRecord)
    return record


def test_a_linear_canary_then_a_watch_is_drawn_step_by_step(world: World, tmp_path: Path) -> None:
    # given v2 released 10% then 50%, two minutes each, and watched for two minutes against a 5% holdback
    _traffic(world, "1", per_minute=300, errors=0, p95=80)
    _traffic(world, "2", per_minute=60, errors=0, p95=82)
    body = request_for(strategy={"type": "linear", "steps": [10, 50], "interval_seconds": 120}, watch_seconds=120)
    result = drive(world, body)
    assert result["status"] == "PROMOTED", result["reason"]
    # when its report data is made
    data = report_data(_record(world, result))
    # then the weights moved 10 -> 50 -> 95 -> 100, each move dated by the verdict that asked for it
    verdicts = data["verdicts"]
    assert [w["weight"] for w in data["weights"]] == [10, 50, 95, 100]
    last_at_10 = [v for v in verdicts if v["phase"] == "canary" and v["weight"] == 10][-1]
    assert data["weights"][1]["at"] == last_at_10["at"]
    assert data["weights"][2]["at"] == data["promoted_at"]
    assert {v["phase"] for v in verdicts} == {"canary", "watch"}
    assert all(v["outcome"] == "HEALTHY" and v["summary"] == "stub judge says HEALTHY" for v in verdicts)
    # and each judged period shows both versions, in time order, canary periods then watch periods
    starts = [p["start"] for p in data["periods"]]
    assert starts == sorted(starts) and len(starts) == len(set(starts))
    assert {p["phase"] for p in data["periods"]} == {"canary", "watch"}
    assert all(p["new"]["p95_ms"] == 82 and p["previous"]["p95_ms"] == 80 for p in data["periods"])
    assert all(p["new"]["error_rate"] == 0 for p in data["periods"])
    # and the picture renders
    render_png(data, tmp_path / "linear.png")
    assert (tmp_path / "linear.png").read_bytes()[:4] == b"\x89PNG"


def test_a_breach_in_the_watch_ends_the_weights_at_zero_when_the_alias_went_back(world: World) -> None:
    # given a canary judged healthy, then an UNHEALTHY verdict in the watch
    _traffic(world, "1", per_minute=300, errors=0, p95=80)
    _traffic(world, "2", per_minute=60, errors=6, p95=82)

    def healthy_until_the_watch(window: HealthWindow, policy: HealthPolicy) -> Verdict:
        world.verdicts = [Outcome.UNHEALTHY if window.phase == "watch" else Outcome.HEALTHY]
        return World.judge(world, window, policy)

    world.judge = healthy_until_the_watch  # type: ignore[method-assign]
    result = drive(world, request_for())
    assert result["status"] == "ROLLED_BACK", result["reason"]
    data = report_data(_record(world, result))
    # then the last move is back to 0% at the rollback, after the promotion to 95%
    assert [w["weight"] for w in data["weights"]] == [10, 95, 0]
    assert data["weights"][-1]["at"] == data["rolled_back_at"] is not None
    assert data["promoted_at"] is None  # rolled back: there is no promotion to mark
    assert data["verdicts"][-1] | {"at": None, "summary": None} == {
        "at": None,
        "phase": "watch",
        "outcome": "UNHEALTHY",
        "weight": 95,
        "decided_by": "organic_paired",
        "summary": None,
    }
    # the canary fails 10% of its invocations in every period the judges kept
    assert {p["new"]["error_rate"] for p in data["periods"]} == {0.1}
