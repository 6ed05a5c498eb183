"""The dashboard and the alarms on Rollgate itself (rollgate_cdk/observability.py), as synthesized."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from rollgate.contract import DEPLOY_STATUSES, RELEASE_STATUSES, REMEDIATION_STATUSES
from rollgate_cdk.observability import DEPLOYMENT_OUTCOMES, RELEASE_OUTCOMES, REMEDIATION_OUTCOMES
from tests.infra.conftest import Synthesized


def logical_id(synthesized: Synthesized, construct: Any) -> str:
    return str(synthesized.stack.resolve(synthesized.stack.get_logical_id(construct.node.default_child)))


def alarm(synthesized: Synthesized, alarm_id: str) -> dict[str, Any]:
    construct = synthesized.stack.observability.alarms[alarm_id]
    return dict(synthesized.json["Resources"][logical_id(synthesized, construct)]["Properties"])


def metric_stats(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads (one metric, or those of its math expression)."""
    if "MetricName" in properties:
        return [properties]
    return [q["MetricStat"]["Metric"] for q in properties["Metrics"] if "MetricStat" in q]


def dashboard_body(synthesized: Synthesized) -> str:
    [dashboard] = synthesized.resources("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]
    if isinstance(body, str):
        return body
    separator, parts = body["Fn::Join"]
    return separator.join(part if isinstance(part, str) else json.dumps(part) for part in parts)


def topic_ref(synthesized: Synthesized) -> dict[str, str]:
    return {"Ref": logical_id(synthesized, synthesized.stack.triggers.topic)}


ALARMS = (
    "DeployFunctionFailed",
    "ReleaseFailed",
    "RemediateFailed",
    "RecordFailed",
    "ReconcileFailed",
    "TriggerDeadLetters",
    "ReconcileDeadLetters",
)


@pytest.mark.parametrize("alarm_id", ALARMS)
def test_each_alarm_pages_the_notifications_topic_with_what_to_do(synthesized: Synthesized, alarm_id: str) -> None:
    properties = alarm(synthesized, alarm_id)
    assert properties["AlarmActions"] == [topic_ref(synthesized)]
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert properties["TreatMissingData"] == "notBreaching"
    # a person paged by it is told what to do, with the commands
    assert "Do:" in properties["AlarmDescription"] and "rollgate " in properties["AlarmDescription"]


def test_the_stack_has_exactly_these_alarms(synthesized: Synthesized) -> None:
    assert set(synthesized.stack.observability.alarms) == set(ALARMS)
    assert len(synthesized.resources("AWS::CloudWatch::Alarm")) == len(ALARMS)


@pytest.mark.parametrize(
    ("alarm_id", "metric_name", "machine"),
    [
        ("DeployFunctionFailed", "Deployments", "deploy"),
        ("ReleaseFailed", "Releases", "release"),
        ("RemediateFailed", "Remediations", "remediate"),
    ],
)
def test_a_failed_outcome_or_a_timed_out_execution_of_each_workflow_alarms(
    synthesized: Synthesized, alarm_id: str, metric_name: str, machine: str
) -> None:
    # a rolled-back or rejected deployment is Rollgate working: only FAILED (incl. ROLLBACK FAILED) counts
    metrics = metric_stats(alarm(synthesized, alarm_id))
    outcome = next(m for m in metrics if m["Namespace"] == "Rollgate" and m["MetricName"] != "UnverifiedRollbacks")
    assert outcome["MetricName"] == metric_name
    assert sorted(outcome["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "outcome", "Value": "FAILED"},
        {"Name": "service", "Value": "rollgate"},
    ]
    timed_out = next(m for m in metrics if m["Namespace"] == "AWS/States")
    assert timed_out["MetricName"] == "ExecutionsTimedOut"
    state_machine = getattr(synthesized.stack, machine).state_machine
    assert timed_out["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": {"Ref": logical_id(synthesized, state_machine)}}
    ]


def test_a_rollback_to_a_version_failing_its_smoke_test_alarms_too(synthesized: Synthesized) -> None:
    metrics = metric_stats(alarm(synthesized, "DeployFunctionFailed"))
    [smoke] = [m for m in metrics if m["MetricName"] == "UnverifiedRollbacks"]
    assert {"Name": "outcome", "Value": "ROLLED_BACK"} in smoke["Dimensions"]
    assert "FAILED ITS SMOKE TEST" in alarm(synthesized, "DeployFunctionFailed")["AlarmDescription"]


def test_record_failures_are_the_errors_of_every_record_task(synthesized: Synthesized) -> None:
    metrics = metric_stats(alarm(synthesized, "RecordFailed"))
    assert {m["MetricName"] for m in metrics} == {"Errors"}
    functions = {m["Dimensions"][0]["Value"]["Ref"] for m in metrics}
    expected = {
        logical_id(synthesized, group.task(module).function)
        for group, module in (
            (synthesized.stack.deploy_tasks, "record"),
            (synthesized.stack.release_tasks, "record_release"),
            (synthesized.stack.remediate_tasks, "record_remediation"),
        )
    }
    assert functions == expected


def test_reconcile_failures_and_dead_letters_alarm_on_their_own_resources(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    [reconcile] = metric_stats(alarm(synthesized, "ReconcileFailed"))
    assert reconcile["MetricName"] == "Errors"
    assert reconcile["Dimensions"][0]["Value"] == {
        "Ref": logical_id(synthesized, stack.reconciler.task("reconcile").function)
    }
    for alarm_id, queue in (
        ("TriggerDeadLetters", stack.triggers.dead_letters),
        ("ReconcileDeadLetters", stack.reconciler.dead_letters),
    ):
        [depth] = metric_stats(alarm(synthesized, alarm_id))
        assert (depth["Namespace"], depth["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        assert depth["Dimensions"][0]["Value"] == {"Fn::GetAtt": [logical_id(synthesized, queue), "QueueName"]}


def test_cloudwatch_may_publish_to_the_encrypted_topic(synthesized: Synthesized) -> None:
    # the topic's policy replaces SNS's default one, and its key is customer managed: without these
    # two grants an alarm action fails silently on AWS
    synthesized.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Condition": Match.object_like(
                                    {"StringEquals": {"aws:SourceAccount": Match.any_value()}}
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )
    synthesized.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                # merged with the events principal's identical grant
                                "Principal": {"Service": Match.array_with(["cloudwatch.amazonaws.com"])},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_the_dashboard_draws_releases_detection_executions_errors_and_dead_letters(synthesized: Synthesized) -> None:
    body = dashboard_body(synthesized)
    stack = synthesized.stack
    for metric in ("Deployments", "Rollbacks", "Releases", "Remediations", "TimeToDetect", "TimeToRecover"):
        assert f'"{metric}"' in body, metric
    for outcome in DEPLOYMENT_OUTCOMES:
        assert f'"outcome","{outcome}"' in body
    # Rollgate's own executions, per state machine
    for machine in (stack.deploy, stack.release, stack.remediate):
        ref = json.dumps({"Ref": logical_id(synthesized, machine.state_machine)})
        for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"):
            assert f'"{metric}","StateMachineArn","{ref}"' in body, metric
    # every task Lambda's errors
    functions = synthesized.resources("AWS::Lambda::Function")
    for function_id in functions:
        assert f'"Errors","FunctionName","{json.dumps({"Ref": function_id})}"' in body, function_id
    # both dead-letter queues, and the alarms' states
    assert body.count('"ApproximateNumberOfMessagesVisible"') >= 2
    assert '"type":"alarm"' in body


def test_the_outcomes_drawn_are_the_statuses_the_record_tasks_emit() -> None:
    # ABORTED is only written by Reconcile, which emits the same Deployments metric for it
    assert set(DEPLOYMENT_OUTCOMES) == {s.value for s in DEPLOY_STATUSES}
    assert set(RELEASE_OUTCOMES) == {s.value for s in RELEASE_STATUSES}
    assert set(REMEDIATION_OUTCOMES) == {s.value for s in REMEDIATION_STATUSES}


def test_the_dashboard_is_named_after_the_stack(synthesized: Synthesized) -> None:
    # the name a person types in the console (docs/operations.md: the dashboard)
    synthesized.template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "Rollgate"})
