"""The judge's evidence kinds and the watch's control, end to end on the local runtime.

Each scenario releases a build of orders-api through the synthesized DeployFunction state machine
and asserts what an operator would check: where the alias ends (read back with boto3), the ledger
record (status, reason, decided_by, verification), the outcome event on the Rollgate bus, and,
where the scenario is about a traffic move, the states the execution passed through. Never
timings: everything runs on the runtime's virtual clock, so the outcome depends on the seed only.

The clients' orders are built here (Orders) so a scenario can change what they send: coupons that
are rare, a campaign the live version does not know, a downstream incident that fails a share of
requests whatever the version.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rollgate.contract import RESULT_KEYS
from rollgate_cli.progress import Conclusion
from rollgate_local import faults
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import order_payload
from rollgate_local.sample_app.builds import COUPON_SHARE
from rollgate_local.traffic import Traffic
from tests.workflow.conftest import ALIAS, FUNCTION, Harness, running_harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

ALIAS_ALARM = "orders-api-alias-errors"
GUARD_ALARM = "rollgate-guard-orders-api-errors"
HOLDBACK = {"1": 0.05}  # the default 5% holdback on v1 while v2 is watched


# --------------------------------------------------------------------------- the shop's clients
@dataclass
class Orders:
    """What the clients send, one order per organic invocation, counted.

    coupon_share: orders that carry a coupon (real traffic: 30%).
    campaign_share: orders with the SPRING20 coupon, which v1 does not know (it raises KeyError;
        v7 is the fix).
    incident_share: while `incident` is on, this share of requests fails in every build: a shared
        dependency is down (modelled as orders no build can price, so both versions fail alike).
    """

    coupon_share: float = COUPON_SHARE
    campaign_share: float = 0.0
    incident_share: float = 0.3
    incident: bool = False
    sent: int = 0

    def __call__(self, rng: random.Random) -> dict[str, Any]:
        self.sent += 1
        order = order_payload(rng)
        if "coupon" in order and self.coupon_share < COUPON_SHARE and rng.random() >= self.coupon_share / COUPON_SHARE:
            del order["coupon"]
        if self.campaign_share and rng.random() < self.campaign_share:
            order["coupon"] = "SPRING20"
        if self.incident and rng.random() < self.incident_share:
            order["items"] = None
        return order


@contextmanager
def shop(
    cdk_out: Path, orders: Orders, *, rate_per_second: float = 5.0, streams: bool = True
) -> Iterator[tuple[Harness, Traffic]]:
    """The workflow harness with these clients at this rate, and a handle on their traffic (with
    `streams` False the function is only called through its API: no stream batches).

    running_harness starts its traffic at 5 requests/s and keeps the Traffic to itself; so that a
    scenario can model a low-traffic function or stop the clients, LocalRuntime.traffic is wrapped
    while the harness starts it (the only call it makes)."""
    started: list[Traffic] = []
    start_traffic = LocalRuntime.traffic

    def traffic(runtime: LocalRuntime, *args: Any, **kwargs: Any) -> Traffic:
        kwargs.update(rate_per_second=rate_per_second, drive_streams=streams)
        started.append(start_traffic(runtime, *args, **kwargs))
        return started[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalRuntime, "traffic", traffic)
        with running_harness(cdk_out, orders) as harness:
            patch.undo()
            assert len(started) == 1, "running_harness started other traffic than its clients'"
            yield harness, started[0]


# --------------------------------------------------------------------------- reading what happened
def record(harness: Harness) -> dict[str, Any]:
    """The newest deployment record of orders-api:live (remediations have their own records)."""
    return next(r for r in harness.ledger() if r["kind"] == "deployment")


def outcome_event(harness: Harness) -> dict[str, Any]:
    events = [e for e in harness.events() if e["detail-type"].startswith("Deployment ")]
    assert len(events) == 1, [e["detail-type"] for e in events]
    return events[0]


def states(harness: Harness, execution_arn: str) -> list[tuple[str, dict[str, Any]]]:
    """(task state, the record it wrote at its ResultPath) for every task state the execution left,
    in order."""
    sfn = harness.client("stepfunctions")
    exited: list[tuple[str, dict[str, Any]]] = []
    token: str | None = None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        for event in page["events"]:
            details = event.get("stateExitedEventDetails")
            if event["type"] == "TaskStateExited" and details and details["name"] in RESULT_KEYS:
                document = json.loads(details.get("output") or "{}")
                exited.append((details["name"], document.get(RESULT_KEYS[details["name"]]) or {}))
        token = page.get("nextToken")
        if not token:
            return exited


def verdicts(harness: Harness, execution_arn: str) -> list[dict[str, Any]]:
    """Every verdict the judge gave, canary and watch, in order (each judge task's newest one, once:
    a log poll that finds nothing adds no verdict, so its output repeats the last)."""
    newest = [
        record_["verdicts"][-1]
        for name, record_ in states(harness, execution_arn)
        if name in ("JudgeCanary", "JudgeWatch") and record_.get("verdicts")
    ]
    return [v for i, v in enumerate(newest) if i == 0 or v != newest[i - 1]]


def evidence(record_: dict[str, Any], gate: str, check: str) -> list[dict[str, Any]]:
    return [e for e in record_["evidence"].get(gate, []) if e["check"] == check]


def invocations(harness: Harness, resource: str, executed_version: str | None = None) -> int:
    """Lambda's Invocations of orders-api through `resource` (an alias or a version qualifier) over
    the whole run, as CloudWatch has them."""
    dimensions = [{"Name": "FunctionName", "Value": FUNCTION}, {"Name": "Resource", "Value": f"{FUNCTION}:{resource}"}]
    if executed_version is not None:
        dimensions.append({"Name": "ExecutedVersion", "Value": executed_version})
    now = harness.runtime.clock.now()
    points = harness.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=dimensions,
        Statistics=["Sum"],
        StartTime=now - timedelta(hours=12),
        EndTime=now + timedelta(minutes=1),
        Period=60,
    )["Datapoints"]
    return int(sum(p["Sum"] for p in points))


def default_policy_request(harness: Harness, build: str) -> dict[str, Any]:
    """The harness's request with the strategy, health policy and watch left at their defaults."""
    body = harness.request(build)
    for key in ("strategy", "health", "watch_seconds"):
        del body[key]
    return body


def with_health(harness: Harness, build: str, **health: Any) -> dict[str, Any]:
    body = harness.request(build)
    body["health"] = {**body["health"], **health}
    return body


# --------------------------------------------------------------------------- 1. synthetic evidence
def test_a_low_traffic_regression_the_smoke_tests_miss_is_never_promoted(cdk_out: Path) -> None:
    # given a function with little traffic (30 orders a minute, a coupon on about 2% of them), and
    # v3, which fails every order with a coupon; the smoke order has none
    orders = Orders(coupon_share=0.02)
    with shop(cdk_out, orders, rate_per_second=0.5, streams=False) as (harness, traffic):
        # a function with a history: half an hour of its traffic before the release (the pre-deploy
        # series a thin holdback is weighed against in the watch)
        harness.runtime.clock.sleep(30 * 60)
        # when v3 is released under the default strategy and health policy (a 10% canary, widened
        # while too few organic samples come, the judge probing v3 with the smoke payloads, which
        # all pass: the canary cannot see a 2% regression in its few hundred invocations)
        conclusion = harness.run(default_policy_request(harness, "v3"), "low-traffic")

        # then it is never promoted: the probes could not make it healthy
        assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
        assert harness.alias() == ("1", {})
        result = record(harness)
        assert result["status"] == "ROLLED_BACK" and result["decided_by"] == "organic_paired", result["reason"]
        assert result["verification"] is None
        assert outcome_event(harness)["detail-type"] == "Deployment Rolled Back"
        # (with this seed no coupon order reached v3 during its step, so the judge did probe it)
        probes = evidence(result, "canary", "health:synthetic")[0]["data"]["observed"]
        assert probes["sent"] > 0 and probes["failed"] == 0, probes
        # and every probe invoked v3's version number: the alias served the clients' orders only
        version = result["to_version"]
        assert invocations(harness, ALIAS) == orders.sent == traffic.snapshot().total
        assert invocations(harness, ALIAS, executed_version=version) == traffic.sent[version]
        assert invocations(harness, version) == len(harness.request("v3")["smoke_tests"]) + probes["sent"]


# --------------------------------------------------------------------------- 2. the watch's control
@pytest.mark.parametrize("holdback", [5, 0], ids=["holdback", "no-holdback"])
def test_a_downstream_incident_during_the_watch_keeps_a_good_release(cdk_out: Path, holdback: int) -> None:
    orders = Orders(incident_share=0.2)
    with shop(cdk_out, orders) as (harness, _):
        body = with_health(harness, "v2", watch_holdback_percent=holdback)
        body["watch_seconds"] = 300
        execution = harness.start(body, f"incident-{holdback}")
        # given v2 promoted and watched (with the holdback on v1, or with none)
        harness.wait_until(lambda: harness.alias() == ("2", HOLDBACK if holdback else {}))
        # when a shared dependency fails a fifth of the requests, whatever the version, for 3 minutes
        orders.incident = True
        harness.runtime.clock.sleep(180)
        orders.incident = False
        conclusion = harness.wait(execution)

        # then the good release stays, verified on paired evidence
        assert conclusion.outcome == "PROMOTED", conclusion.reason()
        assert harness.alias() == ("2", {})
        result = record(harness)
        assert result["status"] == "PROMOTED", result["reason"]
        assert (result["verification"], result["decided_by"]) == ("verified", "organic_paired")
        event = outcome_event(harness)
        assert event["detail-type"] == "Deployment Promoted" and event["detail"]["verification"] == "verified"
        # the incident was seen, on both versions alike
        errors = evidence(result, "watch", "health:errors")[0]["data"]["observed"]
        assert errors["canary_count"] > 0 and errors["reference_count"] > 0, errors
        unhealthy = [v["weight"] for v in verdicts(harness, execution) if v["outcome"] == "UNHEALTHY"]
        moves = [name for name, _ in states(harness, execution) if name in ("ShiftControl", "CompleteWatch")]
        if holdback:
            # judged against the holdback all along: never UNHEALTHY, no control needed
            assert unhealthy == [] and moves == ["CompleteWatch"]
        else:
            # the unpaired watch's breach shifted a control back to v1 before any rollback, and
            # side by side both failed alike: an incident, not the release
            assert unhealthy == [100] and moves == ["ShiftControl", "CompleteWatch"]
            control = evidence(result, "watch", "control")
            assert len(control) == 1 and "to tell a release fault from an incident" in control[0]["detail"]


# --------------------------------------------------------------------------- 3. a watch without data
@contextmanager
def silent_watch(cdk_out: Path, policy: str, **health: Any) -> Iterator[tuple[Harness, Conclusion]]:
    """v2 released with on_inconclusive_watch=`policy`; once it is promoted (with its holdback),
    the clients stop calling, so the watch gets no datapoints. Yields the harness and the end."""
    with shop(cdk_out, Orders()) as (harness, traffic):
        execution = harness.start(with_health(harness, "v2", on_inconclusive_watch=policy, **health), policy)
        harness.wait_until(lambda: harness.alias() == ("2", HOLDBACK))
        traffic.stop()
        yield harness, harness.wait(execution)


def test_a_watch_without_data_rolls_back_under_rollback(cdk_out: Path) -> None:
    with silent_watch(cdk_out, "rollback") as (harness, conclusion):
        assert conclusion.outcome == "ROLLED_BACK"
        assert "never verified healthy after promotion" in conclusion.reason()
        assert harness.alias() == ("1", {})
        result = record(harness)
        assert result["status"] == "ROLLED_BACK" and "never verified healthy after promotion" in result["reason"]
        assert result["verification"] is None
        assert outcome_event(harness)["detail-type"] == "Deployment Rolled Back"


def test_a_watch_without_data_is_promoted_unverified_when_the_policy_says_so(cdk_out: Path) -> None:
    with silent_watch(cdk_out, "promote_unverified") as (harness, conclusion):
        assert conclusion.execution_status == "SUCCEEDED" and conclusion.outcome == "PROMOTED"
        assert conclusion.unverified
        assert harness.alias() == ("2", {})
        result = record(harness)
        assert (result["status"], result["verification"]) == ("PROMOTED", "unverified")
        assert "UNVERIFIED" in result["reason"] and "healthy watch" not in result["reason"]
        event = outcome_event(harness)
        assert event["detail-type"] == "Deployment Promoted" and event["detail"]["verification"] == "unverified"


def test_a_watch_without_data_is_held_then_rolled_back(cdk_out: Path) -> None:
    with silent_watch(cdk_out, "hold", max_hold_seconds=120) as (harness, conclusion):
        assert conclusion.outcome == "ROLLED_BACK"
        assert harness.alias() == ("1", {})
        result = record(harness)
        assert result["status"] == "ROLLED_BACK" and result["verification"] is None
        assert "never verified healthy after promotion" in result["reason"] and "of hold" in result["reason"]
        holds = evidence(result, "watch", "hold")
        assert len(holds) == 1 and "holding with the control in place" in holds[0]["detail"]
        assert outcome_event(harness)["detail-type"] == "Deployment Rolled Back"


# --------------------------------------------------------------------------- 4. alarms the old version trips
def _put_errors_alarm(harness: Harness, name: str) -> None:
    """An alarm on the alias's Errors (all versions together), as teams set them up."""
    harness.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": FUNCTION}, {"Name": "Resource", "Value": f"{FUNCTION}:{ALIAS}"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )


def _alarm(harness: Harness, name: str, state: str) -> None:
    reason = "Threshold Crossed: errors above 5" if state == "ALARM" else "Threshold Crossed: errors back under 5"
    harness.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)


def remediations(harness: Harness) -> list[dict[str, Any]]:
    """The Remediate executions so far, oldest first, each with its output once it ended."""
    sfn = harness.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=harness.outputs["RemediateStateMachineArn"])["executions"]
    described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    return sorted(described, key=lambda d: d["startDate"])


def remediation_statuses(harness: Harness) -> list[str | None]:
    return [json.loads(d.get("output") or "{}").get("status") for d in remediations(harness)]


@contextmanager
def spring_campaign(cdk_out: Path, alarm: str) -> Iterator[Harness]:
    """The SPRING20 campaign is on (10% of orders): v1 fails those orders and trips `alarm`. A guard
    alarm going into ALARM starts Remediate, which finds no deployment to blame yet."""
    with shop(cdk_out, Orders(campaign_share=0.1)) as (harness, _):
        _put_errors_alarm(harness, alarm)
        _alarm(harness, alarm, "ALARM")
        if alarm.startswith("rollgate-guard-"):
            harness.wait_until(lambda: remediation_statuses(harness) == ["NO_ACTION"])
        yield harness


def _flap_during_the_canary(harness: Harness, alarm: str) -> None:
    harness.wait_until(lambda: harness.alias()[1])
    _alarm(harness, alarm, "OK")
    harness.runtime.clock.sleep(60)
    _alarm(harness, alarm, "ALARM")  # v1's share of the traffic keeps failing SPRING20 orders


def test_a_fix_released_while_the_old_version_trips_an_alias_alarm_is_promoted(cdk_out: Path) -> None:
    with spring_campaign(cdk_out, ALIAS_ALARM) as harness:
        # when v7 (the fix) is released, judged with the alias alarm, which v1 keeps tripping
        execution = harness.start(with_health(harness, "v7", alarm_names=[ALIAS_ALARM]), "fix-alias-alarm")
        _flap_during_the_canary(harness, ALIAS_ALARM)
        conclusion = harness.wait(execution)

        # then the fix is promoted: the alarm's errors are split by version, and none are v7's
        assert conclusion.outcome == "PROMOTED", conclusion.reason()
        assert harness.alias() == ("2", {})
        result = record(harness)
        assert (result["status"], result["verification"]) == ("PROMOTED", "verified"), result["reason"]
        alarms = evidence(result, "canary", "health:alarms")[0]
        assert alarms["ok"] and "not held against the release" in alarms["detail"], alarms
        (seen,) = alarms["data"]["observed"]["alarms"]
        assert seen["now"] == "ALARM" and seen["new_version_amount"] == 0 and seen["total_amount"] > 0, seen
        assert outcome_event(harness)["detail-type"] == "Deployment Promoted"


def test_a_fix_released_while_a_guard_alarm_flaps_is_promoted_despite_remediate(cdk_out: Path) -> None:
    with spring_campaign(cdk_out, GUARD_ALARM) as harness:
        # given the guard alarm in ALARM before the release (raised by v1), when v7 is released and
        # the alarm flaps back into ALARM during the canary, starting Remediate
        execution = harness.start(with_health(harness, "v7", alarm_names=[GUARD_ALARM]), "fix-guard-alarm")
        _flap_during_the_canary(harness, GUARD_ALARM)
        conclusion = harness.wait(execution)

        # then Remediate asked the deployment to stop, the deployment declined (the alarm is v1's), and
        # the fix is promoted
        assert remediation_statuses(harness) == ["NO_ACTION", "ABORT_REQUESTED"]
        assert conclusion.outcome == "PROMOTED", conclusion.reason()
        assert harness.alias() == ("2", {})
        result = record(harness)
        assert (result["status"], result["verification"]) == ("PROMOTED", "verified"), result["reason"]
        for gate in ("canary", "watch"):
            declined = evidence(result, gate, "abort_declined")
            assert len(declined) == 1 and f"preflight recorded {GUARD_ALARM} in ALARM" in declined[0]["detail"], gate
        assert outcome_event(harness)["detail-type"] == "Deployment Promoted"


# --------------------------------------------------------------------------- 5-6. the watch's traffic moves
def test_a_good_release_is_watched_against_the_holdback_then_moved_to_100(harness: Harness) -> None:
    execution = harness.start(harness.request("v2"), "watched")
    # during the watch the alias serves v2 with v1 kept at 5% as the control
    harness.wait_until(lambda: harness.alias() == ("2", HOLDBACK))
    conclusion = harness.wait(execution)

    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    moves = [
        (name, r.get("holdback_percent"))
        for name, r in states(harness, execution)
        if name in ("Promote", "ShiftControl", "CompleteWatch")
    ]
    assert moves == [("Promote", 5), ("CompleteWatch", 0)]
    result = record(harness)
    assert result["status"] == "PROMOTED" and "healthy watch" in result["reason"]
    assert (result["verification"], result["decided_by"]) == ("verified", "organic_paired")
    event = outcome_event(harness)
    assert event["detail-type"] == "Deployment Promoted"
    assert (event["detail"]["verification"], event["detail"]["decided_by"]) == ("verified", "organic_paired")


def test_without_a_watch_the_release_is_promoted_unwatched_and_no_holdback_is_set(harness: Harness) -> None:
    execution = harness.start(harness.request("v2", watch_seconds=0), "unwatched")
    conclusion = harness.wait(execution)

    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    passed = states(harness, execution)
    promote = [r for name, r in passed if name == "Promote"]
    assert len(promote) == 1 and promote[0]["holdback_percent"] == 0 and promote[0]["next"] == "done"
    assert not {"JudgeWatch", "ShiftControl", "CompleteWatch"} & {name for name, _ in passed}
    result = record(harness)
    assert result["status"] == "PROMOTED" and "promoted without a watch" in result["reason"]
    assert result["verification"] == "unwatched"
    event = outcome_event(harness)
    assert event["detail-type"] == "Deployment Promoted" and event["detail"]["verification"] == "unwatched"


# --------------------------------------------------------------------------- 7. operational failures
def test_metric_reads_failing_mid_canary_are_not_a_verdict_against_the_release(harness: Harness) -> None:
    execution = harness.start(harness.request("v2"), "metrics-outage")
    harness.wait_until(lambda: harness.alias()[1])  # the canary has traffic
    # when CloudWatch cannot serve GetMetricData for two minutes of the canary
    harness.runtime.clock.sleep(30)
    with faults.metric_outage():
        harness.runtime.clock.sleep(120)
    conclusion = harness.wait(execution)

    # then those periods were "don't know" (operational), never UNHEALTHY, and v2 is promoted
    given = verdicts(harness, execution)
    assert not [v for v in given if v["outcome"] == "UNHEALTHY"], given
    operational = [v for v in given if v["decided_by"] == "operational"]
    assert operational and all(v["outcome"] == "INCONCLUSIVE" for v in operational)
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    result = record(harness)
    assert result["status"] == "PROMOTED"
    assert (result["verification"], result["decided_by"]) == ("verified", "organic_paired")
    judged = [t["detail"] for t in result["timeline"] if t["gate"] == "judge"]
    assert any("reads failed after retries" in line and "GetMetricData" in line for line in judged), judged
    assert outcome_event(harness)["detail-type"] == "Deployment Promoted"
