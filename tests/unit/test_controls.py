"""The operator's controls (rollgate.domain.deploy.controls) through the shipped canary and watch loop:
promote, promote --full, pause, resume and abort, each as the ledger would hand it to the tasks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from rollgate.domain.deploy import controls
from rollgate.domain.deploy.controls import Control, ControlRecord, ControlRefused, fold, request_control
from rollgate.domain.deploy.start import deployment_id_for
from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.ports import ControlLog, Lease
from tests.unit.conftest import World, drive, request_for, steps_taken
from tests.unit.fakes import FakeLedger

EXECUTION = "exec-1"


class ControlledLedger(FakeLedger):
    """A FakeLedger with a control log. A control is handed out only once the clock has reached its
    `requested_at`, so a test schedules an operator's action at a moment of the bake."""

    def __init__(self, clock: Any) -> None:
        super().__init__()
        self.clock = clock
        self.controls: list[ControlRecord] = []

    def put_control(self, record: ControlRecord) -> None:
        self.controls.append(record)

    def list_controls(self, function_name: str, alias: str, deployment_id: str) -> list[ControlRecord]:
        now = self.clock.now()
        return [
            c
            for c in self.controls
            if (c.function_name, c.alias, c.deployment_id) == (function_name, alias, deployment_id)
            and c.requested_at <= now
        ]


@pytest.fixture
def steered(world: World) -> World:
    world.ledger = ControlledLedger(world.clock)
    return world


def at(world: World, seconds: float, control: Control, who: str = "alice", why: str = "looks fine") -> ControlRecord:
    """Schedule `control` `seconds` after the deployment starts (the world's clock now)."""
    started = world.clock.now()
    record = ControlRecord(
        function_name="orders-api",
        alias="live",
        deployment_id=deployment_id_for(started, EXECUTION),
        control=control,
        requested_by=who,
        reason=why,
        requested_at=started + timedelta(seconds=seconds),
    )
    world.ledger.put_control(record)  # type: ignore[attr-defined]
    return record


def shifts(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in result["evidence"]["canary"] if e["check"] == "shift"]


def operator_notes(result: dict[str, Any], gate: str) -> list[str]:
    return [e["detail"] for e in result["evidence"].get(gate, []) if e["check"] == controls.NOTE_CHECK]


def test_the_dynamo_ledger_and_the_test_ledger_keep_a_control_log(steered: World) -> None:
    from rollgate.aws.ledger import DynamoLedger

    assert issubclass(DynamoLedger, ControlLog)
    assert isinstance(steered.ledger, ControlLog)
    assert not isinstance(FakeLedger(), ControlLog)  # and a ledger without one has no controls


# --------------------------------------------------------------------------- folding the log
def _record(control: Control, minute: int) -> ControlRecord:
    return ControlRecord(
        function_name="f",
        alias="live",
        deployment_id="d",
        control=control,
        requested_by="bob",
        reason="why",
        requested_at=datetime(2026, 1, 1, 12, minute, tzinfo=controls_tz()),
    )


def controls_tz() -> Any:
    from datetime import UTC

    return UTC


def test_a_resume_or_a_promote_ends_a_pause_and_the_time_paused_adds_up() -> None:
    log = [
        _record(Control.PAUSE, 0),
        _record(Control.RESUME, 5),
        _record(Control.PAUSE, 10),
        _record(Control.PROMOTE, 12),
        _record(Control.PAUSE, 20),
    ]
    state = fold(log)
    assert state.pause == log[4]
    assert state.paused_before_seconds == 7 * 60
    assert state.paused_seconds(log[4].requested_at + timedelta(minutes=3)) == 10 * 60
    assert [p.control for p in state.promotes] == [Control.PROMOTE]
    assert fold(log[:2]).pause is None and fold([]).abort is None


# --------------------------------------------------------------------------- promote
def test_promote_mid_bake_moves_to_the_next_step_at_the_next_judgement(steered: World) -> None:
    # given a two-step canary baking 300 s per step, when alice promotes 90 s into the first step
    at(steered, 90, Control.PROMOTE)
    result = drive(steered, request_for(strategy={"type": "linear", "steps": [10, 50], "interval_seconds": 300}))
    # then the second step starts at the first judgement after it, not after 300 s; the second step
    # bakes its full interval (a promote is used once), and the release is promoted
    assert result["status"] == "PROMOTED", result["reason"]
    first, second = (datetime.fromisoformat(v["at"]) for v in _weights_changed(steered))
    assert (second - first).total_seconds() < 300
    assert any("promote by alice" in n and "next step now" in n for n in operator_notes(result, "canary"))
    canary = steered.runs[-1].context.canary
    assert canary is not None and len(canary.applied_controls) == 1
    judged_at_50 = [v for v in canary.verdicts if v.weight == 50]
    assert len(judged_at_50) >= 300 // 60 - 1  # the second step was not cut short


def _weights_changed(world: World) -> list[dict[str, Any]]:
    """When each canary step began, from the run's verdict history: the first verdict at each weight."""
    ctx = world.runs[-1].context
    assert ctx.canary is not None
    seen: dict[int, dict[str, Any]] = {}
    for verdict in ctx.canary.verdicts:
        seen.setdefault(verdict.weight, {"at": verdict.at.isoformat(), "weight": verdict.weight})
    return list(seen.values())


def test_promote_full_skips_every_remaining_step_and_the_watch(steered: World) -> None:
    at(steered, 0, Control.PROMOTE_FULL, who="carol", why="hotfix, incident open")
    result = drive(
        steered,
        request_for(strategy={"type": "linear", "steps": [10, 30, 60], "interval_seconds": 300}, watch_seconds=600),
    )
    assert result["status"] == "PROMOTED"
    assert result["verification"] == "operator"
    assert "promoted early by an operator" in result["reason"] and "carol" in result["reason"]
    assert steps_taken(steered.runs[-1].path) == ["shift_traffic", "judge_canary", "promote"]  # one step, no watch
    assert steered.lambda_api.get_alias("orders-api", "live").version == "2"
    assert not steered.lambda_api.get_alias("orders-api", "live").additional_weights


def test_promote_during_the_watch_ends_it_with_the_holdback_moved(steered: World) -> None:
    # the canary bakes 300 s, the watch would run 600 s: promote 400 s in, during the watch
    at(steered, 400, Control.PROMOTE, who="dave")
    result = drive(steered, request_for(watch_seconds=600))
    assert result["status"] == "PROMOTED" and result["verification"] == "operator"
    watch = steered.runs[-1].context.watch
    assert watch is not None and watch.next == "done"
    assert (watch.verdicts[-1].at - watch.promoted_at).total_seconds() < 600
    assert steered.runs[-1].path[-1] == "promote"  # CompleteWatch: the holdback to 100%
    assert not steered.lambda_api.get_alias("orders-api", "live").additional_weights


def test_a_promote_does_not_override_a_breach(steered: World) -> None:
    steered.verdicts = [Outcome.UNHEALTHY]
    at(steered, 10, Control.PROMOTE_FULL)
    result = drive(steered, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert steered.lambda_api.get_alias("orders-api", "live").version == "1"


# --------------------------------------------------------------------------- pause and resume
def test_pause_holds_the_weight_across_periods_until_resumed(steered: World) -> None:
    # a 120 s step, paused 30 s in and resumed 600 s in
    at(steered, 30, Control.PAUSE, who="erin", why="checking a dashboard")
    at(steered, 600, Control.RESUME, who="erin")
    result = drive(steered, request_for(strategy={"type": "canary", "steps": [10], "interval_seconds": 120}))
    assert result["status"] == "PROMOTED", result["reason"]
    canary = steered.runs[-1].context.canary
    assert canary is not None
    held = [v for v in canary.verdicts if v.weight == 10]
    # judged every period at 10% the whole time it was held, well past the 120 s step
    assert (held[-1].at - canary.step_started_at).total_seconds() >= 600
    assert len(held) >= 9
    notes = operator_notes(result, "canary")
    assert len(notes) == 1 and "pause by erin" in notes[0] and "holding the canary at 10%" in notes[0]


def test_a_breach_during_a_pause_still_rolls_back(steered: World) -> None:
    steered.verdicts = [Outcome.HEALTHY] * 6 + [Outcome.UNHEALTHY]
    at(steered, 30, Control.PAUSE)
    result = drive(steered, request_for(strategy={"type": "canary", "steps": [10], "interval_seconds": 120}))
    assert result["status"] == "ROLLED_BACK"
    assert steered.lambda_api.get_alias("orders-api", "live").version == "1"
    assert len(steered.runs[-1].context.canary.verdicts) == 7  # type: ignore[union-attr]


def test_a_pause_runs_out_after_max_hold_seconds_and_the_deployment_goes_on(steered: World) -> None:
    at(steered, 30, Control.PAUSE)
    body = request_for(strategy={"type": "canary", "steps": [10], "interval_seconds": 120})
    body["health"] = {"max_hold_seconds": 300}
    result = drive(steered, body)
    assert result["status"] == "PROMOTED"
    canary = steered.runs[-1].context.canary
    assert canary is not None
    elapsed = (canary.verdicts[-1].at - canary.step_started_at).total_seconds()
    assert 330 <= elapsed < 330 + 120


def test_pause_holds_a_watch_that_would_end(steered: World) -> None:
    # canary 300 s, watch 120 s: paused 350 s in (during the watch), never resumed, hold 600 s
    at(steered, 350, Control.PAUSE)
    body = request_for(watch_seconds=120)
    body["health"] = {"max_hold_seconds": 600}
    result = drive(steered, body)
    assert result["status"] == "PROMOTED" and result["verification"] == "verified"
    watch = steered.runs[-1].context.watch
    assert watch is not None
    assert (watch.verdicts[-1].at - watch.promoted_at).total_seconds() >= 600
    assert any("holding the watch" in n for n in operator_notes(result, "watch"))


# --------------------------------------------------------------------------- abort
def test_abort_rolls_back_at_the_next_task_naming_who_and_why(steered: World) -> None:
    at(steered, 100, Control.ABORT, who="frank", why="wrong build")
    result = drive(steered, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert "aborted by frank: wrong build" in result["reason"]
    assert steered.lambda_api.get_alias("orders-api", "live").version == "1"


def test_a_control_for_another_deployment_is_not_read(steered: World) -> None:
    record = at(steered, 60, Control.ABORT)
    steered.ledger.controls = [record.model_copy(update={"deployment_id": "someone-else"})]  # type: ignore[attr-defined]
    assert drive(steered, request_for())["status"] == "PROMOTED"


# --------------------------------------------------------------------------- asking
def _hold_lease(world: World, holder: str) -> None:
    now = world.clock.now()
    world.ledger.acquire_lease(Lease("orders-api", "live", holder, now, now + timedelta(hours=1)))


def test_a_control_is_written_for_the_lease_holder_with_who_and_why(steered: World) -> None:
    _hold_lease(steered, "d-1")
    record = request_control(
        {"function_name": "orders-api", "control": "pause", "requested_by": "gina", "reason": "look first"},
        ledger=steered.ledger,
        clock=steered.clock,
    )
    assert record.deployment_id == "d-1" and record.requested_at == steered.clock.now()
    assert steered.ledger.controls == [record]  # type: ignore[attr-defined]


def test_a_control_for_a_deployment_that_is_not_the_lease_holder_is_refused(steered: World) -> None:
    _hold_lease(steered, "d-2")
    with pytest.raises(ControlRefused, match="d-1 is not the one running on orders-api:live: d-2 holds"):
        request_control(
            {"function_name": "orders-api", "control": "abort", "deployment_id": "d-1"},
            ledger=steered.ledger,
            clock=steered.clock,
        )
    assert steered.ledger.controls == []  # type: ignore[attr-defined]


def test_a_control_with_no_deployment_running_is_refused(steered: World) -> None:
    with pytest.raises(ControlRefused, match="no deployment of orders-api:live is running"):
        request_control(
            {"function_name": "orders-api", "control": "promote"}, ledger=steered.ledger, clock=steered.clock
        )


def test_a_bad_control_names_the_field(steered: World) -> None:
    _hold_lease(steered, "d-1")
    with pytest.raises(Exception, match="control"):
        request_control({"function_name": "orders-api", "control": "skip"}, ledger=steered.ledger, clock=steered.clock)


# --------------------------------------------------------------------------- approval before promotion
APPROVAL = {"before_promotion": True, "timeout_seconds": 1800, "on_timeout": "reject"}


def test_an_approved_promotion_is_judged_once_more_then_promoted(steered: World) -> None:
    at(steered, 900, Control.APPROVE, who="hana", why="change window open")
    result = drive(steered, request_for(approval=APPROVAL))
    assert result["status"] == "PROMOTED", result["reason"]
    path = steered.runs[-1].path
    assert path[path.index("await_approval") + 1] == "judge_canary"  # the waited time is judged first
    canary = steered.runs[-1].context.canary
    assert canary is not None and canary.approved
    assert canary.verdicts[-1].at >= canary.step_started_at + timedelta(seconds=900)
    assert any("promotion approved by hana" in n for n in operator_notes(result, "canary"))


def test_a_rejected_promotion_rolls_back_naming_who_and_why(steered: World) -> None:
    at(steered, 400, Control.REJECT, who="ivan", why="not during the sale")
    result = drive(steered, request_for(approval=APPROVAL))
    assert result["status"] == "ROLLED_BACK"
    assert "ApprovalRejected: promotion rejected by ivan" in result["reason"]
    assert "not during the sale" in result["reason"]
    assert steered.lambda_api.get_alias("orders-api", "live").version == "1"


@pytest.mark.parametrize(("on_timeout", "status"), [("reject", "ROLLED_BACK"), ("approve", "PROMOTED")])
def test_an_unanswered_approval_takes_its_default(steered: World, on_timeout: str, status: str) -> None:
    result = drive(steered, request_for(approval={**APPROVAL, "timeout_seconds": 600, "on_timeout": on_timeout}))
    assert result["status"] == status, result["reason"]
    assert "no answer within 600 s; on_timeout is " + on_timeout in json_text(result)


def test_without_an_approval_policy_nothing_waits(steered: World) -> None:
    result = drive(steered, request_for(approval={"before_promotion": False}))
    assert result["status"] == "PROMOTED" and "await_approval" not in steered.runs[-1].path


def json_text(result: dict[str, Any]) -> str:
    import json

    return json.dumps(result)


# --------------------------------------------------------------------------- answering a gate (CLI and console)
class FakeTokens:
    def __init__(self) -> None:
        self.answers: list[tuple[str, str, str]] = []

    def succeed(self, task_token: str, output: str) -> None:
        self.answers.append(("success", task_token, output))

    def fail(self, task_token: str, error: str, cause: str) -> None:
        self.answers.append((error, task_token, cause))


class DeskLedger(ControlledLedger):
    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.waiting: dict[str, controls.ApprovalRequest] = {}

    def approval_request(self, execution_arn: str) -> controls.ApprovalRequest | None:
        return self.waiting.get(execution_arn)


def _gate(world: World, ledger: DeskLedger, **fields: Any) -> None:
    from rollgate.domain.shared.models import CanaryProgress

    now = world.clock.now()
    canary = CanaryProgress(
        step_index=0, weight=10, canary_started_at=now, step_started_at=now, wait_seconds=60, next="approve"
    )
    defaults = {"function_name": "orders-api", "alias": "live", "deployment_id": "d-1", "canary": canary}
    ledger.waiting["arn:x"] = controls.ApprovalRequest(
        execution_arn="arn:x",
        task_token="tok",
        asked_at=now,
        timeout_seconds=60,
        on_timeout="reject",
        **{**defaults, **fields},
    )


def test_an_approval_answer_goes_to_the_token_and_into_the_control_log(world: World) -> None:
    ledger, tokens = DeskLedger(world.clock), FakeTokens()
    _gate(world, ledger)
    _hold_lease_on(world, ledger, "d-1")
    answered = controls.answer_approval(
        {"control": "approve", "execution_arn": "arn:x", "requested_by": "lou", "reason": "go"},
        ledger=ledger,
        tokens=tokens,
        clock=world.clock,
    )
    ((kind, token, output),) = tokens.answers
    assert (kind, token) == ("success", "tok") and '"approved":true' in output and '"next":"bake"' in output
    assert answered.what == "orders-api:live" and [c.control for c in ledger.controls] == [Control.APPROVE]
    controls.answer_approval(
        {"control": "reject", "execution_arn": "arn:x", "requested_by": "lou", "reason": "no"},
        ledger=ledger,
        tokens=tokens,
        clock=world.clock,
    )
    assert tokens.answers[-1][0] == "ApprovalRejected" and "rejected by lou" in tokens.answers[-1][2]


def test_a_wave_gate_is_answered_without_a_lease_and_no_gate_is_refused(world: World) -> None:
    ledger, tokens = DeskLedger(world.clock), FakeTokens()
    _gate(world, ledger, function_name=None, alias=None, deployment_id=None, canary=None, release_id="r-1", wave=1)
    answered = controls.answer_approval(
        {"control": "reject", "execution_arn": "arn:x", "requested_by": "mo"},
        ledger=ledger,
        tokens=tokens,
        clock=world.clock,
    )
    assert answered.what == "release r-1: wave 2" and "wave 2 not approved: rejected by mo" in tokens.answers[0][2]
    with pytest.raises(ControlRefused, match="no approval gate of arn:y"):
        controls.answer_approval(
            {"control": "approve", "execution_arn": "arn:y"}, ledger=ledger, tokens=tokens, clock=world.clock
        )


def _hold_lease_on(world: World, ledger: Any, holder: str) -> None:
    now = world.clock.now()
    ledger.acquire_lease(Lease("orders-api", "live", holder, now, now + timedelta(hours=1)))


def test_a_watch_held_for_lack_of_data_is_promoted_by_an_operator(steered: World) -> None:
    from rollgate.domain.judge.health import Verdict

    shipped_stub = steered.judge

    def judge(window: Any, policy: Any) -> Verdict:
        verdict = shipped_stub(window, policy)  # HEALTHY, as the stub answers by default
        if window.phase == "watch":
            return verdict.model_copy(update={"outcome": Outcome.INCONCLUSIVE, "summary": "no data"})
        return verdict

    steered.judge = judge  # type: ignore[method-assign]
    at(steered, 900, Control.PROMOTE, who="nia", why="checked the logs by hand")
    result = drive(steered, request_for(watch_seconds=120))
    assert result["status"] == "PROMOTED" and result["verification"] == "operator", result["reason"]
    assert any(e["check"] == "hold" for e in result["evidence"]["watch"])  # it was holding
    assert "nia" in result["reason"]
