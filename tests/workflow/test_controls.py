"""The operator's controls on the synthesized DeployFunction state machine, on the local runtime:
promote mid-bake, promote --full, pause and resume, a breach during a pause, abort, and a control
for a deployment that is not running. Each is written into the ledger as `rollgate promote|pause|
resume|abort` writes it (rollgate.domain.deploy.controls.request_control) while the execution runs."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from rollgate.domain.deploy.controls import ControlRecord, ControlRefused, request_control
from rollgate_cli.main import run
from tests.workflow.conftest import ALIAS, FUNCTION, Harness
from tests.workflow.test_release import OTHERS, _manifest
from tests.workflow.test_release import shop as shop  # the release tests' fixture: backends with traffic

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


#: a canary that reaches HEALTHY well within its step
HEALTHY_CANARY = {
    "strategy": {"type": "canary", "steps": [50], "interval_seconds": 300},
    "health": {"metric_period_seconds": 60, "on_inconclusive": "extend", "max_extension_seconds": 600},
}


def ask(harness: Harness, control: str, **fields: Any) -> ControlRecord:
    body = {"function_name": FUNCTION, "alias": ALIAS, "control": control, "requested_by": "alice", **fields}
    return request_control(body, ledger=harness.ledger_api, clock=harness.runtime.clock)


def canary_running(harness: Harness) -> bool:
    return bool(harness.alias()[1])


def entered(harness: Harness, execution_arn: str, state: str) -> int:
    sfn = harness.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return sum(1 for e in events if e.get("stateEnteredEventDetails", {}).get("name") == state)


def canary_judgements(harness: Harness) -> int:
    """Full judgements of the latest deployment's canary, from its record's timeline (the log polls
    between them enter JudgeCanary too, and record a verdict only when they fail)."""
    return sum(1 for entry in harness.ledger()[0]["timeline"] if entry["gate"] == "judge")


def operator_notes(record: dict[str, Any], gate: str) -> list[str]:
    return [e["detail"] for e in record["evidence"].get(gate, []) if e["check"] == "operator"]


def test_promote_mid_bake_ends_promoted_early(harness: Harness) -> None:
    # given v2 baking at 20% for a 180 s step (three judgements), when alice promotes it at once
    arn = harness.start(harness.request("v2"), "promote-early")
    harness.wait_until(lambda: canary_running(harness))
    ask(harness, "promote", reason="verified by hand")
    conclusion = harness.wait(arn)
    # then it is promoted after one judgement instead of three, and the record says who and why
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert canary_judgements(harness) == 1
    record = harness.ledger()[0]
    notes = operator_notes(record, "canary")
    assert len(notes) == 1 and "promote by alice" in notes[0] and "verified by hand" in notes[0]
    assert record["verification"] == "verified"  # a plain promote skips the bake, not the watch
    assert harness.alias() == ("2", {}) and harness.lease() is None


def test_promote_full_skips_the_watch(harness: Harness) -> None:
    arn = harness.start(harness.request("v2", watch_seconds=600), "promote-full")
    harness.wait_until(lambda: canary_running(harness))
    ask(harness, "promote_full", reason="hotfix")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert entered(harness, arn, "JudgeWatch") == 0
    record = harness.ledger()[0]
    assert record["verification"] == "operator"
    assert "promoted early by an operator" in record["reason"] and "alice" in record["reason"]
    assert harness.alias() == ("2", {})


def test_pause_holds_the_weight_across_periods_until_resumed(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "pause")
    harness.wait_until(lambda: canary_running(harness))
    ask(harness, "pause", reason="checking the dashboard")
    # the 180 s step ends and the canary stays at 20% for ten minutes
    for _ in range(10):
        harness.runtime.clock.sleep(60)
        version, weights = harness.alias()
        assert (version, set(weights)) == ("1", {"2"}) and round(weights["2"], 2) == 0.2
    ask(harness, "resume")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert canary_judgements(harness) >= 10  # judged every period while held
    notes = operator_notes(harness.ledger()[0], "canary")
    assert any("pause by alice" in n and "holding the canary at 20%" in n for n in notes)


def test_a_breach_during_a_pause_still_rolls_back(harness: Harness) -> None:
    # v3 fails the orders that carry a coupon: only real traffic finds it, paused or not
    arn = harness.start(harness.request("v3"), "pause-breach")
    harness.wait_until(lambda: canary_running(harness))
    ask(harness, "pause")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    assert harness.alias() == ("1", {})
    assert harness.lease() is None


def test_abort_restores_the_previous_version(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "abort")
    harness.wait_until(lambda: canary_running(harness))
    ask(harness, "abort", reason="wrong build")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "ROLLED_BACK"
    assert "aborted by alice: wrong build" in conclusion.reason()
    assert harness.alias() == ("1", {})
    record = harness.ledger()[0]
    assert record["status"] == "ROLLED_BACK" and harness.lease() is None


def test_a_control_for_a_deployment_that_is_not_running_is_refused(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "refused")
    harness.wait_until(lambda: canary_running(harness))
    holder = harness.lease().holder
    with pytest.raises(ControlRefused, match=f"is not the one running on {FUNCTION}:{ALIAS}: {holder} holds"):
        ask(harness, "abort", deployment_id="20260101T000000Z-an-earlier-one")
    harness.wait(arn)
    assert "aborted" not in harness.ledger()[0]["reason"]  # the refused abort was never written
    assert harness.ledger_api.list_controls(FUNCTION, ALIAS, holder) == []
    with pytest.raises(ControlRefused, match="no deployment of orders-api:live is running"):
        ask(harness, "pause")


def test_deploy_version_releases_an_older_version_through_smoke_and_canary(harness: Harness) -> None:
    # given v2 put live by an earlier deployment
    first = harness.run(harness.request("v2", **HEALTHY_CANARY), "v2")
    assert first.outcome == "PROMOTED", first.reason()
    versions, latest = harness.versions(), harness.client("lambda").get_function(FunctionName=FUNCTION)
    # when version 1 is released again, as it is (`rollgate deploy --version 1`)
    body = harness.request("v1", **HEALTHY_CANARY)
    body["artifact"] = {"function_version": "1"}
    arn = harness.start(body, "undo-to-v1")
    conclusion = harness.wait(arn)
    # then it went through the smoke test and the canary, and is live; nothing updated or published
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert entered(harness, arn, "SmokeTest") == 1 and entered(harness, arn, "JudgeCanary") >= 1
    assert harness.alias() == ("1", {})
    assert harness.versions() == versions
    after = harness.client("lambda").get_function(FunctionName=FUNCTION)
    assert after["Configuration"]["CodeSha256"] == latest["Configuration"]["CodeSha256"]
    record = harness.ledger()[0]
    assert (record["from_version"], record["to_version"]) == ("2", "1")


# --------------------------------------------------------------------------- the CLI
def rollgate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_rollgate_promote_and_abort_on_the_command_line(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "cli-controls")
    harness.wait_until(lambda: canary_running(harness))
    holder = harness.lease().holder
    # a control for another deployment: exit 2, nothing written
    code, _, err = rollgate("abort", FUNCTION, "--deployment", "20260101T000000Z-other", "--reason", "typo")
    assert code == 2 and f"{holder} holds its lease" in err
    # promote, for scripts: one JSON document naming the deployment, who and why
    code, out, _ = rollgate(
        "promote", FUNCTION, "--reason", "looks good", "--requested-by", "ci-bot", "--output", "json"
    )
    assert code == 0, out
    document = json.loads(out)
    assert document["command"] == "promote" and document["exit_code"] == 0
    assert document["control"]["deployment_id"] == holder
    assert (document["control"]["control"], document["control"]["requested_by"]) == ("promote", "ci-bot")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "PROMOTED" and canary_judgements(harness) == 1
    # nothing is running any more: a pause is refused
    code, _, err = rollgate("pause", FUNCTION)
    assert code == 2 and "no deployment of orders-api:live is running" in err


def test_rollgate_deploy_version_and_retry_on_the_command_line(harness: Harness) -> None:
    code, out, err = rollgate("deploy", "--function", FUNCTION, "--version", "1", "--zip", "x.zip")
    assert code == 2 and "exactly one of" in err
    code, out, err = rollgate("deploy", "--function", FUNCTION, "--version", "$LATEST")
    assert code == 2 and "version number" in err
    # the live version released again: through the gates, concluded already live
    code, out, _ = rollgate("deploy", "--function", FUNCTION, "--version", "1", "--watch", "--poll-seconds", "5")
    assert code == 0, out
    assert "already live" in out
    # a running execution cannot be redriven: exit 2, said so
    arn = harness.start(harness.request("v2"), "running")
    code, _, err = rollgate("retry", arn)
    assert code == 2 and "cannot be redriven" in err
    harness.wait(arn)


# --------------------------------------------------------------------------- the approval gate
APPROVAL = {"before_promotion": True, "timeout_seconds": 3600, "on_timeout": "reject"}


def waiting_for_approval(harness: Harness, arn: str) -> bool:
    return harness.ledger_api.approval_request(arn) is not None


def test_an_approved_promotion_is_judged_again_then_promoted(harness: Harness) -> None:
    arn = harness.start(harness.request("v2", approval=APPROVAL, **HEALTHY_CANARY), "approved")
    harness.wait_until(lambda: waiting_for_approval(harness, arn), every=5, within=7200)
    assert "Deployment Approval Requested" in [e["detail-type"] for e in harness.events()]
    harness.runtime.clock.sleep(600)  # nobody answers for ten minutes: the canary holds at 50%
    assert harness.alias()[0] == "1" and harness.alias()[1]
    code, out, _ = rollgate("approve", arn, "--reason", "change window open", "--requested-by", "hana")
    assert code == 0 and "approved by hana" in out
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert entered(harness, arn, "AwaitApproval") == 1
    notes = operator_notes(harness.ledger()[0], "canary")
    assert any("promotion approved by hana" in n for n in notes)
    # answered once: a second answer is refused
    code, _, err = rollgate("reject", arn)
    assert code == 2 and "running" in err


def test_a_rejected_approval_rolls_back(harness: Harness) -> None:
    arn = harness.start(harness.request("v2", approval=APPROVAL, **HEALTHY_CANARY), "rejected")
    harness.wait_until(lambda: waiting_for_approval(harness, arn), every=5, within=7200)
    code, _, _ = rollgate("reject", arn, "--reason", "not during the sale", "--requested-by", "ivan")
    assert code == 0
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "ROLLED_BACK"
    assert "ApprovalRejected: promotion rejected by ivan" in conclusion.reason()
    assert "not during the sale" in conclusion.reason()
    assert harness.alias() == ("1", {}) and harness.lease() is None
    log = harness.ledger_api.list_controls(FUNCTION, ALIAS, harness.ledger()[0]["deployment_id"])
    assert [(c.control.value, c.requested_by) for c in log] == [("reject", "ivan")]


def test_a_timed_out_approval_takes_its_default(harness: Harness) -> None:
    approval = {**APPROVAL, "timeout_seconds": 300, "on_timeout": "approve"}
    arn = harness.start(harness.request("v2", approval=approval, **HEALTHY_CANARY), "timed-out")
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert entered(harness, arn, "ApprovalTimedOut") == 1
    notes = operator_notes(harness.ledger()[0], "canary")
    assert any("no answer within 300 s; on_timeout is approve" in n for n in notes)


def test_a_release_rejected_between_waves_stops_there_and_puts_back_the_first_wave(shop: Harness) -> None:
    builds = {"payments-api": "v2", "inventory-api": "v2", FUNCTION: "v2"}
    manifest = _manifest(shop, builds, approval={"between_waves": True, "timeout_seconds": 3600})
    arn = shop.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-gated")
    shop.wait_until(lambda: waiting_for_approval(shop, arn), every=5, within=7200)
    assert [shop.alias(name)[0] for name in OTHERS] == ["2", "2"]  # wave 1 is out; wave 2 waits
    code, out, _ = rollgate("reject", arn, "--reason", "payments dashboard looks off", "--requested-by", "kim")
    assert code == 0 and "wave 2" in out
    conclusion = shop.wait(arn)
    result = conclusion.result or {}
    assert result["status"] == "ROLLED_BACK", result
    assert "wave 2 not approved: rejected by kim" in result["reason"]
    statuses = {f["function_name"]: f["status"] for f in result["functions"]}
    assert statuses == {"payments-api": "PROMOTED", "inventory-api": "PROMOTED", FUNCTION: "NOT_STARTED"}
    for name in (*OTHERS, FUNCTION):
        assert shop.alias(name) == ("1", {})


# --------------------------------------------------------------------------- the console's Control function
def control_function(harness: Harness, event: dict[str, Any]) -> dict[str, Any]:
    response = harness.client("lambda").invoke(
        FunctionName=harness.outputs["ControlFunctionName"], Payload=json.dumps(event).encode()
    )
    body = json.loads(response["Payload"].read())
    return {"error": body} if "FunctionError" in response else body


def test_the_console_control_function_pauses_and_aborts(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "console")
    harness.wait_until(lambda: canary_running(harness))
    control = {"function_name": FUNCTION, "alias": ALIAS, "requested_by": "console-user"}
    paused = control_function(harness, {**control, "control": "pause", "reason": "look first"})
    assert paused["deployment_id"] == harness.lease().holder and paused["control"] == "pause"
    harness.runtime.clock.sleep(300)  # past the 180 s step: still held at 20%
    assert harness.alias()[0] == "1" and round(harness.alias()[1]["2"], 2) == 0.2
    refused = control_function(harness, {**control, "control": "abort", "deployment_id": "20260101T000000Z-other"})
    assert refused["error"]["errorType"] == "ControlRefused"
    control_function(harness, {**control, "control": "abort", "reason": "wrong build"})
    conclusion = harness.wait(arn)
    assert conclusion.outcome == "ROLLED_BACK" and "aborted by console-user: wrong build" in conclusion.reason()
    assert harness.alias() == ("1", {})
    answer = control_function(harness, {"control": "approve", "execution_arn": arn})
    assert answer["error"]["errorType"] == "ControlRefused"  # no gate of this execution waits
