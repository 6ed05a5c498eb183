"""The shipped canary and watch loop (rollgate.domain.deploy.gate_loop) on fakes: what reaches the alias,
what the judge is shown, and how each ending is concluded in the ledger and the event."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.deploy import canary, gate_loop
from rollgate.domain.judge.health import HealthWindow, Outcome, PeriodStats
from rollgate.domain.remediate.remediation import assess, remediate, start_remediation
from rollgate.domain.shared.errors import ThrottledError
from rollgate.domain.shared.ports import AlarmMetric, EventSourceMapping, HealthProbes, Invocation
from rollgate_cli import main as cli_main
from rollgate_cli.progress import Conclusion, describe_gate
from tests.unit.conftest import World, drive, request_for, steps_taken

ROOT = Path(__file__).resolve().parents[2]
GUARD_ALARM = "rollgate-guard-orders-api-errors"
ALARM_EVENT = json.loads((ROOT / "tests/events/alarm_state_change.json").read_text())


def routed(world: World) -> tuple[str, dict[str, float]]:
    routing = world.lambda_api.get_alias("orders-api", "live")
    return routing.version, routing.additional_weights


def record_alias_moves(world: World) -> list[tuple[str, dict[str, float]]]:
    moves: list[tuple[str, dict[str, float]]] = []
    original = world.lambda_api.update_alias

    def spy(*args: Any, **kwargs: Any) -> Any:
        moves.append((kwargs["version"], dict(kwargs["additional_weights"])))
        return original(*args, **kwargs)

    world.lambda_api.update_alias = spy  # type: ignore[method-assign]
    return moves


def steady_traffic(
    world: World, version: str, *, per_minute: float, errors: float = 0.0, minutes: int = 200, p95: float = 80.0
) -> None:
    """`version` serves `per_minute` invocations through the alias every minute, from 40 minutes
    before the deployment on (the fake metric source answers what is in the window asked)."""
    start = world.clock.now() - timedelta(minutes=40)
    world.metrics.series[version] = [
        PeriodStats(
            start=start + timedelta(minutes=i),
            invocations=per_minute,
            errors=errors,
            throttles=0.0,
            p95_ms=p95,
            p99_ms=p95 * 1.2,
        )
        for i in range(minutes)
    ]


def watch_windows(world: World) -> list[HealthWindow]:
    return [w for w in world.windows if w.phase == "watch"]


# --------------------------------------------------------------------------- synthetic probes
def test_drive_traffic_probes_the_new_versions_qualifier_never_the_alias(world: World) -> None:
    # given a canary the judge cannot decide on (too little organic traffic)
    world.verdicts = [Outcome.INCONCLUSIVE] * 30
    body = request_for(health={"on_inconclusive": "drive_traffic", "max_extension_seconds": 180})
    # when the step ends INCONCLUSIVE and the policy drives traffic
    result = drive(world, body)
    # then every probe went to version 2 itself; none through the alias, so none is an organic sample
    probes = [q for (_, q, _) in world.lambda_api.invocations]
    assert "live" not in probes and None not in probes
    assert probes.count("2") > 1  # the smoke test's own invocation, then the probes
    # the judge saw them as their own evidence, counted from the invoke responses
    shown = [w.synthetic for w in world.windows if w.synthetic is not None]
    assert shown and shown[-1].version == "2" and shown[-1].sent > 0 and shown[-1].failed == 0
    # and they did not make the canary healthy: still INCONCLUSIVE past the budget is a rollback
    assert result["status"] == "ROLLED_BACK"
    assert "synthetic probes of the new version do not count as samples" in result["reason"]


def test_failing_synthetic_probes_reach_the_judge_with_their_messages(world: World) -> None:
    world.verdicts = [Outcome.INCONCLUSIVE] * 30
    calls = {"n": 0}

    def responder(name: str, qualifier: str | None, payload: Any) -> Invocation:
        calls["n"] += 1
        if calls["n"] == 1:  # the smoke test passes ...
            return Invocation(200, None, {"ok": True})
        # ... the probes later find a broken request path
        return Invocation(200, "Unhandled", {"errorType": "KeyError", "errorMessage": "'customer'"})

    world.lambda_api.responder = responder
    drive(world, request_for(health={"max_extension_seconds": 120}))
    synthetic = [w.synthetic for w in world.windows if w.synthetic is not None][-1]
    assert synthetic.failed == synthetic.sent > 0
    assert "KeyError" in synthetic.failures[0]


def test_zero_organic_and_only_synthetic_successes_is_never_promoted(world: World) -> None:
    world.shipped_judge = True
    # given the shipped judge, no organic traffic through the alias, and probes that all succeed
    steady_traffic(world, "1", per_minute=0.0)
    world.metrics.series.pop("1")
    result = drive(world, request_for(health={"max_extension_seconds": 300}), execution="synthetic-only")
    # then the release is not promoted on synthetic evidence
    assert result["status"] == "ROLLED_BACK"
    assert alias_is_back_on_v1(world)


def alias_is_back_on_v1(world: World) -> bool:
    return routed(world) == ("1", {})


# --------------------------------------------------------------------------- the watch's control
def test_the_watch_keeps_a_holdback_as_its_control_then_moves_to_100(world: World) -> None:
    moves = record_alias_moves(world)
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED" and result["verification"] == "verified"
    # promoted with 5% left on v1, then all of it on v2, read back
    assert moves[-2:] == [("2", {"1": 0.05}), ("2", {})]
    assert routed(world) == ("2", {})
    # every watch verdict compared v2 with v1 side by side over the same window
    windows = watch_windows(world)
    assert windows
    for window in windows:
        assert window.canary_weight == 95
        assert window.stable is not None and window.stable.version == "1"
        assert window.baseline is not None  # the pre-deploy series rides along
        assert window.weight_since is not None
    assert "holdback" in " ".join(e["detail"] for e in result["evidence"]["watch"])


def test_the_paired_watch_also_reads_the_canary_periods_but_not_the_one_mixing_its_shift(world: World) -> None:
    # given steady traffic on both versions through the canary and the watch
    steady_traffic(world, "1", per_minute=600)
    steady_traffic(world, "2", per_minute=600)
    drive(world, request_for())
    canary_windows = [w for w in world.windows if w.phase == "canary"]
    last_step = max(w.weight_since for w in canary_windows if w.weight_since is not None)
    windows = watch_windows(world)
    assert windows
    for window in windows:
        # the errors test gets the canary's paired periods too, from the first whole period after
        # the last canary shift; the promotion's own mixed period the judge leaves out
        assert window.weight_since is not None
        starts = [p.start for p in window.canary.periods]
        assert min(starts) < window.weight_since
        assert min(starts) >= last_step


def test_with_no_holdback_a_breach_shifts_a_control_back_before_any_rollback(world: World) -> None:
    # given an unpaired watch, and a breach that turns out to hit both versions (an incident)
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.UNHEALTHY] + [Outcome.HEALTHY] * 20
    moves = record_alias_moves(world)
    result = drive(world, request_for(health={"watch_holdback_percent": 0}))
    # then a 10% control went back to v1, judged side by side, and the good release stays
    assert ("2", {"1": 0.1}) in moves
    assert result["status"] == "PROMOTED"
    assert routed(world) == ("2", {})
    after_control = [w for w in watch_windows(world) if w.stable is not None]
    assert after_control and all(w.canary_weight == 90 for w in after_control)
    assert "control" in world.runs[-1].path or "promote" in world.runs[-1].path
    assert any(e["check"] == "control" for e in result["evidence"]["watch"])


def test_with_no_holdback_a_fault_confirmed_against_the_control_rolls_back(world: World) -> None:
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.UNHEALTHY, Outcome.UNHEALTHY]
    result = drive(world, request_for(health={"watch_holdback_percent": 0}))
    assert result["status"] == "ROLLED_BACK"
    assert "after promotion" in result["reason"]
    assert alias_is_back_on_v1(world)


@pytest.mark.parametrize("holdback", [5, 0])
def test_a_downstream_incident_during_the_watch_does_not_roll_back(world: World, holdback: int) -> None:
    # given the shipped judge, when a downstream incident makes both versions fail 20% of their
    # requests for three minutes of the watch, with the default holdback or with none
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=600.0)
    steady_traffic(world, "2", per_minute=600.0)
    incident_from = world.clock.now() + timedelta(minutes=7)
    for version in ("1", "2"):
        world.metrics.series[version] = [
            p.model_copy(update={"errors": 120.0})
            if incident_from <= p.start < incident_from + timedelta(minutes=3)
            else p
            for p in world.metrics.series[version]
        ]
    moves = record_alias_moves(world)
    # (the default policy: a watch that ends short of samples holds, with its control, for more)
    body = request_for(watch_seconds=600, health={"watch_holdback_percent": holdback})
    result = drive(world, body, execution="incident")
    # then the good release stays, verified
    assert result["status"] == "PROMOTED", result["reason"]
    assert result["verification"] == "verified"
    assert routed(world) == ("2", {})
    if holdback:
        # the incident minutes were judged against the holdback, never the pre-deploy baseline
        assert all(w.stable is not None for w in watch_windows(world))
    else:
        # the unpaired watch's breach put a control back first, which showed both versions failing
        assert ("2", {"1": 0.1}) in moves


# --------------------------------------------------------------------------- the end of the watch
@pytest.mark.parametrize("policy", ["rollback", "hold"])
def test_a_watch_that_ends_inconclusive_is_never_promoted_as_healthy(world: World, policy: str) -> None:
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.INCONCLUSIVE] * 200
    body = request_for(health={"on_inconclusive_watch": policy, "max_hold_seconds": 300})
    result = drive(world, body)
    assert result["status"] == "ROLLED_BACK"
    assert "never verified healthy after promotion" in result["reason"]
    assert "INCONCLUSIVE" in result["reason"]
    assert alias_is_back_on_v1(world)
    detail = world.events.published[-1][1]
    assert detail["verification"] is None and "INCONCLUSIVE" in detail["message"]


def test_hold_keeps_the_holdback_and_promotes_once_the_data_says_healthy(world: World) -> None:
    # watch of 120 s: 2 INCONCLUSIVE verdicts end it; the hold gets 2 more, then HEALTHY
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.INCONCLUSIVE] * 4 + [Outcome.HEALTHY]
    moves = record_alias_moves(world)
    result = drive(world, request_for(health={"on_inconclusive_watch": "hold"}))
    assert result["status"] == "PROMOTED" and result["verification"] == "verified"
    # the holdback stayed through the hold: no move between the promotion and the end of it
    assert moves[-2:] == [("2", {"1": 0.05}), ("2", {})]
    holds = [e for e in result["evidence"]["watch"] if e["check"] == "hold"]
    assert len(holds) == 1 and "holding with the control in place" in holds[0]["detail"]


def test_promote_unverified_says_so_everywhere(world: World) -> None:
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.INCONCLUSIVE] * 20
    result = drive(world, request_for(health={"on_inconclusive_watch": "promote_unverified"}))
    assert result["status"] == "PROMOTED"
    assert result["verification"] == "unverified"
    assert "UNVERIFIED" in result["reason"] and "healthy canary and" not in result["reason"]
    assert world.runs[-1].conclusion == "PROMOTED_UNVERIFIED"
    assert routed(world) == ("2", {})  # never left with the holdback
    detail = world.events.published[-1][1]
    assert detail["verification"] == "unverified" and "UNVERIFIED" in detail["message"]
    assert world.ledger.deployments[result["deployment_id"]]["verification"] == "unverified"


def test_no_watch_is_said_as_such(world: World) -> None:
    moves = record_alias_moves(world)
    result = drive(world, request_for(watch_seconds=0))
    assert result["status"] == "PROMOTED"
    assert result["verification"] == "unwatched"
    assert "promoted without a watch" in result["reason"]
    assert moves[-1] == ("2", {})  # no holdback without a watch


def test_a_watch_without_datapoints_is_not_healthy_with_the_shipped_judge(world: World) -> None:
    world.shipped_judge = True
    # given a healthy canary, and then no datapoint at all after promotion
    steady_traffic(world, "1", per_minute=600.0)
    steady_traffic(world, "2", per_minute=600.0)
    promoted_by = world.clock.now() + timedelta(minutes=6)
    for version in ("1", "2"):
        world.metrics.series[version] = [p for p in world.metrics.series[version] if p.start < promoted_by]
    body = request_for(watch_seconds=300, health={"on_inconclusive_watch": "rollback"})
    result = drive(world, body, execution="no-watch-data")
    assert result["status"] != "PROMOTED" or result["verification"] != "verified"
    assert "healthy canary and a healthy watch" not in result["reason"]


# --------------------------------------------------------------------------- what decided
def test_the_deciding_evidence_kind_is_in_the_record_event_and_reason(world: World) -> None:
    world.verdicts = [Outcome.UNHEALTHY]
    result = drive(world, request_for())
    assert result["decided_by"] == "organic_paired"
    assert "decided by organic_paired evidence" in result["reason"]
    detail = world.events.published[-1][1]
    assert detail["decided_by"] == "organic_paired"
    assert "organic_paired" in detail["message"]
    headline = next(e for e in result["evidence"]["canary"] if e["check"] == "verdict")
    assert "decided by organic_paired evidence" in headline["detail"]
    run = world.runs[-1]
    assert run.decided_by == "organic_paired" and run.conclusion == "ROLLED_BACK"
    assert run.time_to_detect_seconds == 60


# --------------------------------------------------------------------------- read failures
def test_failed_metric_reads_are_recorded_not_judged_against_the_release(world: World) -> None:
    original = world.metrics.version_series
    outage = {"left": 2}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if outage["left"] > 0:
            outage["left"] -= 1
            raise ThrottledError("Rate exceeded")
        return original(*args, **kwargs)

    world.metrics.version_series = flaky  # type: ignore[method-assign]
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED"
    assert any("ThrottledError" in f for w in world.windows for f in w.read_failures)


def test_run_gates_stops_at_the_decision_and_leaves_the_rollback_to_the_caller(world: World) -> None:
    world.verdicts = [Outcome.UNHEALTHY]
    drive(world, request_for())
    run = world.runs[-1]
    assert steps_taken(run.path) == ["shift_traffic", "judge_canary"]
    assert run.context.canary is not None and run.context.canary.next == "rollback"
    assert [v.outcome for v in run.verdicts] == ["UNHEALTHY"]


def test_every_route_the_loop_follows_names_a_step_it_can_run() -> None:
    for routes in gate_loop.ROUTES.values():
        for route in routes.values():
            assert route.stop or route.module in gate_loop.STEPS


# --------------------------------------------------------------------------- guard alarms
def _alarm_during_the_canary(world: World, *, at_preflight: str) -> dict[str, Any]:
    """A guard alarm in `at_preflight` state at preflight goes into ALARM while the canary bakes,
    and Remediate runs on it."""
    world.alarms.state[GUARD_ALARM] = at_preflight
    original = world.clock.advance
    fired = {"done": False}

    def advance(seconds: float) -> None:
        original(seconds)
        fn = world.lambda_api.functions["orders-api"]
        if fn.aliases["live"].additional_weights and not fired["done"]:
            fired["done"] = True
            world.alarms.state[GUARD_ALARM] = "ALARM"
            ctx = start_remediation(
                ALARM_EVENT, {"Name": "r1"}, alarm_tags={}, default_lookback_minutes=60, clock=world.clock
            )
            ctx = assess(ctx, ledger=world.ledger, lambda_api=world.lambda_api, clock=world.clock)
            remediate(ctx, ledger=world.ledger, lambda_api=world.lambda_api, clock=world.clock)

    world.clock.advance = advance  # type: ignore[method-assign]
    return drive(world, request_for(health={"alarm_names": [GUARD_ALARM]}))


def test_a_guard_alarm_raised_by_the_old_version_does_not_abort_the_fix(world: World) -> None:
    # given the guard alarm was in ALARM at preflight (the old version is the incident)
    result = _alarm_during_the_canary(world, at_preflight="ALARM")
    # then Remediate's abort is declined and the fix is promoted
    assert result["status"] == "PROMOTED", result["reason"]
    declined = [e for e in result["evidence"]["canary"] if e["check"] == "abort_declined"]
    assert declined and GUARD_ALARM in declined[0]["detail"]
    assert routed(world) == ("2", {})


def test_a_guard_alarm_that_fires_during_the_canary_still_aborts_it(world: World) -> None:
    result = _alarm_during_the_canary(world, at_preflight="OK")
    assert result["status"] == "ROLLED_BACK"
    assert GUARD_ALARM in result["reason"]
    assert alias_is_back_on_v1(world)


# --------------------------------------------------------------------------- the CLI's exit code
@pytest.mark.parametrize(
    ("result", "code"),
    [
        ({"status": "PROMOTED", "verification": "verified", "reason": "healthy"}, 0),
        ({"status": "PROMOTED", "verification": "unwatched", "reason": "promoted without a watch"}, 0),
        ({"status": "PROMOTED", "verification": "unverified", "reason": "promoted UNVERIFIED"}, 3),
        ({"status": "ROLLED_BACK", "reason": "never verified healthy after promotion"}, 1),
    ],
)
def test_an_unverified_promotion_has_its_own_exit_code(result: dict[str, Any], code: int) -> None:
    out = io.StringIO()
    assert cli_main._conclude(Conclusion(execution_status="SUCCEEDED", result=result), out) == code
    assert result["reason"] in out.getvalue()


# --------------------------------------------------------------------------- alias alarms, split by version
def _alias_errors_alarm(world: World) -> None:
    world.alarms.metrics[GUARD_ALARM] = AlarmMetric(
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": "orders-api", "Resource": "orders-api:live"},
    )


def _alarm_goes_off_once_the_canary_runs(world: World) -> None:
    """The guard alarm goes into ALARM at the first clock tick with traffic on the canary."""
    original = world.clock.advance

    def advance(seconds: float) -> None:
        original(seconds)
        if world.lambda_api.get_alias("orders-api", "live").additional_weights:
            world.alarms.state[GUARD_ALARM] = "ALARM"

    world.clock.advance = advance  # type: ignore[method-assign]


def test_an_alias_alarm_is_split_by_version_for_the_judge(world: World) -> None:
    # given an alias-level Errors alarm that goes into ALARM once the canary runs
    _alias_errors_alarm(world)
    steady_traffic(world, "1", per_minute=540.0, errors=30.0)
    steady_traffic(world, "2", per_minute=60.0)
    _alarm_goes_off_once_the_canary_runs(world)
    drive(world, request_for(health={"alarm_names": [GUARD_ALARM]}))
    # then the judge was shown the new version's share of the alarm's metric: none of the errors
    firing = [a for w in world.windows if w.phase == "canary" for a in w.alarms if a.state_now == "ALARM"]
    assert firing
    assert all(a.new_version_amount == 0 and a.total_amount and a.total_amount > 0 for a in firing)


def test_a_fix_released_while_the_old_version_trips_an_alias_alarm_is_promoted(world: World) -> None:
    # given the shipped judge, the old version failing 5% of its requests and tripping the alias
    # alarm during the canary, and a fix that fails none
    world.shipped_judge = True
    _alias_errors_alarm(world)
    steady_traffic(world, "1", per_minute=540.0, errors=27.0)
    steady_traffic(world, "2", per_minute=600.0)
    _alarm_goes_off_once_the_canary_runs(world)
    result = drive(
        world, request_for(health={"alarm_names": [GUARD_ALARM], "on_inconclusive_watch": "rollback"}), execution="fix"
    )
    # then the alarm is not held against the fix
    canary_alarm_checks = [e for e in result["evidence"].get("canary", []) if e["check"] == "health:alarms"]
    assert all(e["ok"] for e in canary_alarm_checks)
    assert result["status"] == "PROMOTED", result["reason"]


def test_an_alarm_probe_that_cannot_say_what_it_watches_gives_no_evidence(world: World) -> None:
    class StatesOnly:
        def __init__(self, inner: Any) -> None:
            self.states = inner.states

    world.alarms.state[GUARD_ALARM] = "ALARM"
    _alias_errors_alarm(world)
    states_only = StatesOnly(world.alarms)
    world.probes_override = HealthProbes(metrics=world.metrics, queues=world.queues, alarms=states_only)
    drive(world, request_for(health={"alarm_names": [GUARD_ALARM]}))
    firing = [a for w in world.windows for a in w.alarms if a.state_now == "ALARM"]
    assert firing and all(a.new_version_amount is None and a.new_version_breaches is None for a in firing)


def test_replaying_the_promotion_after_the_watch_completed_leaves_the_alias_whole(world: World) -> None:
    # given a deployment that went through its watch and moved to 100%
    drive(world, request_for())
    run = world.runs[-1]
    assert routed(world) == ("2", {})
    # when the first Promote task is replayed with its original input (no watch record yet)
    replay = run.context.model_copy(update={"watch": None})
    progress = canary.promote_version(replay, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    # then no holdback is put back: nothing would ever move it again
    assert routed(world) == ("2", {})
    assert progress.holdback_percent == 0


# --------------------------------------------------------------------------- source-queue DLQs
def test_a_source_queues_redrive_dlq_is_watched_as_its_own_kind(world: World) -> None:
    # given an SQS event source (through the alias) whose queue redrives to a DLQ
    source = "arn:aws:sqs:us-east-1:123456789012:orders-in"
    dlq = "arn:aws:sqs:us-east-1:123456789012:orders-in-dlq"
    world.lambda_api.functions["orders-api"].mappings.append(
        EventSourceMapping(
            "uuid-sqs", source, "arn:aws:lambda:us-east-1:123456789012:function:orders-api:live", "Enabled"
        )
    )
    world.queues.redrives[source] = dlq
    world.queues.depths[dlq] = 2
    # when the release runs
    drive(world, request_for())
    # then preflight recorded the DLQ with its source, and the judge is shown it as a source redrive
    queues = [q for w in world.windows for q in w.queues]
    assert queues and all((q.queue, q.baseline, q.source, q.kind) == (dlq, 2, source, "source_redrive") for q in queues)


def test_two_failures_in_seven_organic_invocations_are_not_diluted_by_probe_successes(world: World) -> None:
    # given the shipped judge, a low-traffic canary: 7 organic invocations through the alias, 2 of
    # them failing (a request type the smoke payload does not exercise), and probes that all succeed
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=63.0)
    canary_from = world.clock.now()
    world.metrics.series["2"] = [
        PeriodStats(start=canary_from + timedelta(minutes=i), invocations=1.0, errors=1.0 if i < 2 else 0.0)
        for i in range(7)
    ]
    result = drive(world, request_for(health={"max_extension_seconds": 600}), execution="low-traffic")
    # then the release is not promoted, and the probes were sent to the version, not the alias
    assert result["status"] == "ROLLED_BACK", result["reason"]
    assert all(q == "2" for (_, q, _) in world.lambda_api.invocations if q != "1")
    assert any(w.synthetic is not None and w.synthetic.sent > 0 for w in world.windows)


def test_the_cli_progress_line_of_each_verdict_says_which_kind_decided(world: World) -> None:
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.UNHEALTHY]
    drive(world, request_for(health={"watch_holdback_percent": 0}))
    run = world.runs[-1]
    assert run.context.watch is not None
    line, _ = describe_gate("JudgeWatch", run.context.watch.model_dump(mode="json"))
    # the last verdict was judged against the control share, then the watch completed
    assert line.startswith("HEALTHY at 90% traffic (decided by organic_paired evidence)") and line.endswith("-> done")
    # ShiftControl's own record ends with its move
    evidence = [e.model_dump() for e in run.context.watch.evidence]
    upto = next(i for i, e in enumerate(evidence) if e["check"] == "control")
    moved, _ = describe_gate("ShiftControl", {"evidence": evidence[: upto + 1]})
    assert "routes 100% v2" not in moved and "v1 10%" in moved and "a control for 300 s" in moved


@pytest.mark.parametrize("holdback", [5, 0])
def test_a_regression_that_starts_after_promotion_is_rolled_back(world: World, holdback: int) -> None:
    # given the shipped judge and a build that starts failing 10% once it takes the load
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=600.0)
    steady_traffic(world, "2", per_minute=600.0)
    takes_load = world.clock.now() + timedelta(minutes=6)
    world.metrics.series["2"] = [
        p.model_copy(update={"errors": 60.0}) if p.start >= takes_load else p for p in world.metrics.series["2"]
    ]
    body = request_for(watch_seconds=600, health={"watch_holdback_percent": holdback})
    result = drive(world, body, execution="post-promotion")
    assert result["status"] == "ROLLED_BACK", result["reason"]
    assert "after promotion" in result["reason"]
    assert alias_is_back_on_v1(world)


def test_the_promote_task_moves_traffic_only_when_the_watch_record_asks_for_it(world: World) -> None:
    # given a deployment in its watch (holdback on v1), when Promote is replayed with that record
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.UNHEALTHY]
    drive(world, request_for())
    watching = world.runs[-1].context
    fn = world.lambda_api.functions["orders-api"]
    fn.aliases["live"] = fn.aliases["live"].__class__("live", "2", {"1": 0.05}, "rev-watch")
    replay = watching.model_copy(update={"watch": watching.watch.model_copy(update={"next": "watch"})})
    canary.promote_version(replay, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock)
    # then the holdback stays: only "control" and "complete" move it
    assert routed(world) == ("2", {"1": 0.05})


# --------------------------------------------------------------------------- widening
def test_a_canary_short_of_samples_is_widened_step_by_step_then_judged_on_all_of_them(world: World) -> None:
    # given the shipped judge and a quiet function: 6 requests a minute split by the weight
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=5.4)
    steady_traffic(world, "2", per_minute=0.6)
    moves = record_alias_moves(world)
    result = drive(world, request_for(), execution="quiet")
    # then the canary went 10% -> 25% -> 50%, never further before promotion, and too few
    # samples even so is never healthy
    weights = [w.get("2") for v, w in moves if v == "1" and w]
    assert weights[:3] == [0.1, 0.25, 0.5]
    assert max(weights) == 0.5
    assert result["status"] == "ROLLED_BACK" and "INCONCLUSIVE" in result["reason"]


def test_no_widening_when_the_policy_says_none(world: World) -> None:
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=5.4)
    steady_traffic(world, "2", per_minute=0.6)
    moves = record_alias_moves(world)
    drive(world, request_for(health={"widen_on_inconclusive": []}), execution="quiet-fixed")
    assert {w.get("2") for v, w in moves if v == "1" and w} == {0.1}
