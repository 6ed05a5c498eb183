"""EventBridge deliveries in the local runtime (rollgate_local.bridge.events, patches 15 and 16): rule targets
moto does not deliver (Lambda, SNS, Step Functions) and the events CloudWatch puts on the default bus
when an alarm changes state. Also the deployer's part: rules, function URLs and generated secrets
from a template."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rollgate_local.deployer import deploy_template
from rollgate_local.runtime import LocalRuntime
from tests.local.conftest import make_function

RECORDER = """
import json, os, boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
"""

# Waits (up to a virtual minute, on the runtime's clock) for a message on GATE_URL before recording:
# if PutEvents waited for the handler, the test could only open the gate after the wait and the
# record would say so.
GATED_RECORDER = """
import json, os, boto3
from rollgate.aws.clock import current_clock

def handler(event, context):
    sqs, clock = boto3.client("sqs"), current_clock()
    opened = False
    for _ in range(60):
        opened = bool(sqs.receive_message(QueueUrl=os.environ["GATE_URL"]).get("Messages"))
        if opened:
            break
        clock.sleep(1)
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"],
                     MessageBody=json.dumps({"event": event, "gate_was_open": opened}))
"""

SLOW_WRITER = """
import os, pathlib

def handler(event, context):
    done = pathlib.Path(os.environ["DONE_FILE"])
    go = pathlib.Path(os.environ["GO_FILE"])
    while not go.exists():  # still running until the test lets it finish
        pass
    done.write_text(event["id"])
"""

FAILING = """
def handler(event, context):
    raise ValueError("boom: the dispatcher is broken")
"""

GUARD_PATTERN = {
    "source": ["aws.cloudwatch"],
    "detail-type": ["CloudWatch Alarm State Change"],
    "detail": {"alarmName": [{"prefix": "rollgate-guard-"}], "state": {"value": ["ALARM"]}},
}
ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


# ---- helpers ---------------------------------------------------------------------------------
def _queue(runtime: LocalRuntime, name: str) -> tuple[str, str]:
    sqs = runtime.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _messages(runtime: LocalRuntime, url: str, *, attributes: bool = False) -> list[dict[str, Any]]:
    """Messages on the queue once every delivery in flight has finished: sleep(0) returns when every
    other actor of the virtual clock (deliveries are actors) waits or is done, without moving time."""
    runtime.clock.sleep(0)
    sqs = runtime.client("sqs")
    extra = {"MessageAttributeNames": ["All"]} if attributes else {}
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **extra).get("Messages", [])
        if not batch:
            return found
        found += batch


def _bodies(messages: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(m["Body"]) for m in messages]


def _rule(
    runtime: LocalRuntime, name: str, pattern: dict[str, Any], targets: list[dict[str, Any]], bus: str = "default"
) -> None:
    events = runtime.client("events")
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets)


def _put(
    runtime: LocalRuntime,
    detail: dict[str, Any],
    *,
    bus: str = "default",
    source: str = "rollgate.test",
    detail_type: str = "Release Requested",
) -> str:
    response = runtime.client("events").put_events(
        Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}]
    )
    assert response["FailedEntryCount"] == 0, response
    return str(response["Entries"][0]["EventId"])


def _recorder(runtime: LocalRuntime, name: str, queue_url: str) -> str:
    return make_function(runtime, name, {"app.py": RECORDER}, "app.handler", {"QUEUE_URL": queue_url})


def _guard_alarm(runtime: LocalRuntime, name: str) -> None:
    runtime.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        AlarmDescription=f"{name}: errors of orders-api",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "orders-api"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def _describe_alarm(runtime: LocalRuntime, name: str) -> dict[str, Any]:
    (alarm,) = runtime.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(alarm)


def _cloudwatch_timestamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


# ---- 15: rule targets ------------------------------------------------------------------------
def test_a_lambda_target_gets_the_event_asynchronously_and_its_handler_sees_the_mock(runtime: LocalRuntime) -> None:
    # given a rule on a custom bus whose target is a Lambda function that waits for a gate, then
    # records the event it got in an SQS queue (boto3 from the delivery thread)
    seen_url, _ = _queue(runtime, "seen")
    gate_url, _ = _queue(runtime, "gate")
    function_arn = make_function(
        runtime,
        "gated-recorder",
        {"app.py": GATED_RECORDER},
        "app.handler",
        {"QUEUE_URL": seen_url, "GATE_URL": gate_url},
    )
    runtime.client("events").create_event_bus(Name="rollgate")
    _rule(runtime, "releases", {"source": ["rollgate.test"]}, [{"Id": "fn", "Arn": function_arn}], bus="rollgate")
    # when an event is put, and only then the gate is opened
    event_id = _put(runtime, {"release_id": "r-1", "function_name": "orders-api"}, bus="rollgate")
    runtime.client("sqs").send_message(QueueUrl=gate_url, MessageBody="go")
    runtime.clock.sleep(5)  # the handler looks at the gate once a (virtual) second
    # then PutEvents did not wait for the handler, which got the event as EventBridge sends it
    (record,) = _bodies(_messages(runtime, seen_url))
    assert record["gate_was_open"] is True
    event = record["event"]
    assert {
        k: event[k] for k in ("version", "id", "detail-type", "source", "account", "region", "resources", "detail")
    } == {
        "version": "0",
        "id": event_id,
        "detail-type": "Release Requested",
        "source": "rollgate.test",
        "account": runtime.account,
        "region": runtime.region,
        "resources": [],
        "detail": {"release_id": "r-1", "function_name": "orders-api"},
    }
    assert ISO_SECONDS.fullmatch(event["time"]) and "ingestion-time" not in event


def test_lambda_targets_get_input_input_path_or_the_transformed_event(runtime: LocalRuntime) -> None:
    # given one rule with three targets on the same recorder: a constant Input, an InputPath and an
    # InputTransformer
    seen_url, _ = _queue(runtime, "seen")
    function_arn = _recorder(runtime, "recorder", seen_url)
    _rule(
        runtime,
        "releases",
        {"detail-type": ["Release Requested"]},
        [
            {"Id": "constant", "Arn": function_arn, "Input": json.dumps({"constant": True})},
            {"Id": "path", "Arn": function_arn, "InputPath": "$.detail.manifest"},
            {
                "Id": "transformed",
                "Arn": function_arn,
                "InputTransformer": {
                    "InputPathsMap": {"release": "$.detail.release_id", "fn": "$.detail.manifest.function_name"},
                    "InputTemplate": '{"release_id": "<release>", "target": "<fn>", "rule": "<aws.events.rule-name>"}',
                },
            },
        ],
    )
    # when a matching event is put
    _put(runtime, {"release_id": "r-7", "manifest": {"function_name": "orders-api", "alias": "live"}})
    # then each target got what its input configuration makes of the event
    bodies = _bodies(_messages(runtime, seen_url))
    assert sorted(bodies, key=json.dumps) == sorted(
        [
            {"constant": True},
            {"function_name": "orders-api", "alias": "live"},
            {"release_id": "r-7", "target": "orders-api", "rule": "releases"},
        ],
        key=json.dumps,
    )


def test_an_sns_target_publishes_the_event_and_a_string_template_as_plain_text(runtime: LocalRuntime) -> None:
    # given a topic with an SQS subscription, and a rule with two targets on it: the whole event, and
    # an InputTransformer whose template is a JSON string (what CDK's RuleTargetInput.from_text makes)
    sns = runtime.client("sns")
    topic_arn = sns.create_topic(Name="notifications")["TopicArn"]
    inbox_url, inbox_arn = _queue(runtime, "inbox")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    _rule(
        runtime,
        "outcomes",
        {"source": ["rollgate"]},
        [
            {"Id": "event", "Arn": topic_arn},
            {
                "Id": "text",
                "Arn": topic_arn,
                "InputTransformer": {"InputPathsMap": {"message": "$.detail.message"}, "InputTemplate": '"<message>"'},
            },
        ],
    )
    # when an outcome is put
    event_id = _put(
        runtime,
        {"message": "Release r-1 of orders-api promoted to v2"},
        source="rollgate",
        detail_type="Release Succeeded",
    )
    # then the subscriber got the event as JSON and the message as plain text
    messages = [body["Message"] for body in _bodies(_messages(runtime, inbox_url))]
    texts = [m for m in messages if not m.startswith("{")]
    (published,) = [json.loads(m) for m in messages if m.startswith("{")]
    assert texts == ["Release r-1 of orders-api promoted to v2"]
    assert published["id"] == event_id and published["detail-type"] == "Release Succeeded"
    assert published["detail"] == {"message": "Release r-1 of orders-api promoted to v2"}


def test_a_state_machine_target_starts_an_execution_with_the_event_as_input(runtime: LocalRuntime) -> None:
    # given a rule whose target is a (Pass) state machine, with the role EventBridge would assume
    sfn = runtime.client("stepfunctions")
    role_arn = "arn:aws:iam::123456789012:role/events-start-execution"
    machine_arn = sfn.create_state_machine(
        name="echo",
        roleArn=role_arn,
        definition=json.dumps({"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    _rule(
        runtime,
        "remediate",
        {"detail-type": ["Remediation Requested"]},
        [{"Id": "sfn", "Arn": machine_arn, "RoleArn": role_arn}],
    )
    # when a matching event is put
    event_id = _put(runtime, {"function_name": "orders-api"}, detail_type="Remediation Requested")
    # then one execution started, with the event as its input
    (execution,) = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    described = runtime.wait_for_execution(execution["executionArn"])
    assert described["status"] == "SUCCEEDED"
    given = json.loads(described["input"])
    assert given["id"] == event_id and given["detail"] == {"function_name": "orders-api"}
    assert json.loads(described["output"]) == given


def test_a_failing_lambda_target_does_not_fail_put_events_and_is_dead_lettered(runtime: LocalRuntime) -> None:
    # given a rule with a failing function (dead-letter queue configured) and an SQS target
    dlq_url, dlq_arn = _queue(runtime, "dispatch-dlq")
    copy_url, copy_arn = _queue(runtime, "copy")
    function_arn = make_function(
        runtime, "dispatch", {"app.py": FAILING}, "app.handler", DeadLetterConfig={"TargetArn": dlq_arn}
    )
    _rule(
        runtime,
        "releases",
        {"source": ["rollgate.test"]},
        [{"Id": "fn", "Arn": function_arn}, {"Id": "copy", "Arn": copy_arn}],
    )
    # when an event is put
    event_id = _put(runtime, {"release_id": "r-9"})
    # then PutEvents succeeded and the other target got the event
    (copied,) = _bodies(_messages(runtime, copy_url))
    assert copied["id"] == event_id
    # and after Lambda's asynchronous retries the event went to the function's dead-letter queue
    (dead,) = _messages(runtime, dlq_url, attributes=True)
    assert json.loads(dead["Body"])["detail"] == {"release_id": "r-9"}
    assert "boom" in dead["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_disabled_and_schedule_only_rules_get_no_events(runtime: LocalRuntime) -> None:
    # given a disabled rule and a schedule-only rule, each with a queue target
    paused_url, paused_arn = _queue(runtime, "paused")
    nightly_url, nightly_arn = _queue(runtime, "nightly")
    _rule(runtime, "paused", {"source": ["rollgate.test"]}, [{"Id": "q", "Arn": paused_arn}])
    events = runtime.client("events")
    events.disable_rule(Name="paused")
    events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")
    events.put_targets(Rule="nightly", Targets=[{"Id": "q", "Arn": nightly_arn}])
    # when an event is put, then neither gets it
    _put(runtime, {"release_id": "r-1"})
    assert _messages(runtime, paused_url) == [] and _messages(runtime, nightly_url) == []
    # and once the rule is enabled again it does
    events.enable_rule(Name="paused")
    _put(runtime, {"release_id": "r-2"})
    assert [body["detail"] for body in _bodies(_messages(runtime, paused_url))] == [{"release_id": "r-2"}]


def test_stopping_the_runtime_waits_for_a_lambda_delivery_in_flight(tmp_path: Path) -> None:
    done, go = tmp_path / "done", tmp_path / "go"
    with LocalRuntime() as runtime:
        # given a Lambda target that runs until the test lets it finish
        function_arn = make_function(
            runtime, "slow-writer", {"app.py": SLOW_WRITER}, "app.handler", {"DONE_FILE": str(done), "GO_FILE": str(go)}
        )
        _rule(runtime, "releases", {"source": ["rollgate.test"]}, [{"Id": "fn", "Arn": function_arn}])
        # when an event is put, PutEvents answers while the handler still runs, and the runtime stops
        event_id = _put(runtime, {"release_id": "r-1"})
        assert not done.exists()
        go.touch()
    # then the handler finished before the mock ended (it would have called the real AWS after it)
    assert done.read_text() == event_id


# ---- 16: alarm state changes -----------------------------------------------------------------
def test_an_alarm_state_change_is_put_on_the_default_bus_like_cloudwatch(runtime: LocalRuntime) -> None:
    # given the guard-alarm rule on the default bus, a rule seeing every alarm event, and two alarms
    guard_url, guard_arn = _queue(runtime, "guard-alarms")
    every_url, every_arn = _queue(runtime, "every-alarm-event")
    _rule(runtime, "guard-alarm", GUARD_PATTERN, [{"Id": "q", "Arn": guard_arn}])
    _rule(runtime, "every-alarm-event", {"source": ["aws.cloudwatch"]}, [{"Id": "q", "Arn": every_arn}])
    guard, other = "rollgate-guard-orders-api-errors", "other-team-errors"
    _guard_alarm(runtime, guard)
    _guard_alarm(runtime, other)
    cloudwatch = runtime.client("cloudwatch")
    before = _describe_alarm(runtime, guard)
    # when the guard alarm goes into ALARM
    cloudwatch.set_alarm_state(
        AlarmName=guard,
        StateValue="ALARM",
        StateReason="Threshold Crossed: 3 errors",
        StateReasonData=json.dumps({"version": "1.0", "recentDatapoints": [3.0]}),
    )
    after = _describe_alarm(runtime, guard)
    # then the guard rule got one event, shaped like CloudWatch's
    (event,) = _bodies(_messages(runtime, guard_url))
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["resources"] == [after["AlarmArn"]] and ISO_SECONDS.fullmatch(event["time"])
    detail = event["detail"]
    assert detail["alarmName"] == guard
    assert detail["state"] == {
        "value": "ALARM",
        "reason": "Threshold Crossed: 3 errors",
        "reasonData": json.dumps({"version": "1.0", "recentDatapoints": [3.0]}),
        "timestamp": _cloudwatch_timestamp(after["StateUpdatedTimestamp"]),
    }
    assert detail["previousState"] == {
        "value": before["StateValue"],
        "reason": before["StateReason"],
        "timestamp": _cloudwatch_timestamp(before["StateUpdatedTimestamp"]),
    }
    (metric,) = detail["configuration"]["metrics"]
    assert isinstance(metric.pop("id"), str)
    assert detail["configuration"]["description"] == f"{guard}: errors of orders-api"
    assert metric == {
        "metricStat": {
            "metric": {"namespace": "AWS/Lambda", "name": "Errors", "dimensions": {"FunctionName": "orders-api"}},
            "period": 60,
            "stat": "Sum",
        },
        "returnData": True,
    }
    assert event["time"] == detail["state"]["timestamp"][:19] + "Z"
    # when it is set to ALARM again: no state change, no event
    cloudwatch.set_alarm_state(AlarmName=guard, StateValue="ALARM", StateReason="still breaching")
    assert _messages(runtime, guard_url) == []
    # when another team's alarm goes into ALARM, the guard rule does not get it (though it was put)
    cloudwatch.set_alarm_state(AlarmName=other, StateValue="ALARM", StateReason="Threshold Crossed")
    assert _messages(runtime, guard_url) == []
    # and going back to OK is an event too, but not one for the guard rule
    cloudwatch.set_alarm_state(AlarmName=guard, StateValue="OK", StateReason="Threshold no longer crossed")
    assert _messages(runtime, guard_url) == []
    every = _bodies(_messages(runtime, every_url))
    assert [
        (e["detail"]["alarmName"], e["detail"]["previousState"]["value"], e["detail"]["state"]["value"]) for e in every
    ] == [(guard, before["StateValue"], "ALARM"), (other, "OK", "ALARM"), (guard, "ALARM", "OK")]


def test_an_alarm_event_reaches_a_lambda_target_with_the_account(runtime: LocalRuntime) -> None:
    # given the guard-alarm rule with a Lambda target (as Rollgate's Triggers have it)
    seen_url, _ = _queue(runtime, "seen")
    _rule(runtime, "guard-alarm", GUARD_PATTERN, [{"Id": "fn", "Arn": _recorder(runtime, "dispatch", seen_url)}])
    _guard_alarm(runtime, "rollgate-guard-orders-api-p99")
    # when the alarm goes into ALARM
    runtime.client("cloudwatch").set_alarm_state(
        AlarmName="rollgate-guard-orders-api-p99", StateValue="ALARM", StateReason="Threshold Crossed"
    )
    # then the function got the full event
    (event,) = _bodies(_messages(runtime, seen_url))
    assert event["account"] == runtime.account and event["region"] == runtime.region
    assert event["detail"]["alarmName"] == "rollgate-guard-orders-api-p99"
    assert event["detail"]["state"]["value"] == "ALARM"


# ---- the deployer ----------------------------------------------------------------------------
def test_a_deployed_template_wires_rule_targets_a_function_url_a_kms_topic_and_a_generated_secret(
    runtime: LocalRuntime,
) -> None:
    # given a template with a rule targeting a function (InputPath), the function's URL and a
    # permission for it, a topic encrypted with a key (not modelled locally) and a generated secret
    seen_url, _ = _queue(runtime, "seen")
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}},
            "Dispatch": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Code": {"ZipFile": RECORDER},
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Environment": {"Variables": {"QUEUE_URL": seen_url}},
                },
            },
            "DispatchUrl": {
                "Type": "AWS::Lambda::Url",
                "Properties": {"TargetFunctionArn": {"Fn::GetAtt": ["Dispatch", "Arn"]}, "AuthType": "NONE"},
            },
            "DispatchUrlPermission": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunctionUrl",
                    "FunctionName": {"Fn::GetAtt": ["Dispatch", "Arn"]},
                    "Principal": "*",
                    "FunctionUrlAuthType": "NONE",
                },
            },
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "rollgate"}},
            "Rule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"detail-type": ["Release Requested"]},
                    "Targets": [{"Id": "Target0", "Arn": {"Fn::GetAtt": ["Dispatch", "Arn"]}, "InputPath": "$.detail"}],
                },
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"GenerateSecretString": {"PasswordLength": 40, "ExcludePunctuation": True}},
            },
        },
        "Outputs": {
            "Url": {"Value": {"Fn::GetAtt": ["DispatchUrl", "FunctionUrl"]}},
            "UrlFunction": {"Value": {"Fn::GetAtt": ["DispatchUrl", "FunctionArn"]}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Dispatch", "Arn"]}},
            "SecretArn": {"Value": {"Ref": "Secret"}},
            "TopicArn": {"Value": {"Ref": "Topic"}},
        },
    }
    # when it is deployed
    outputs = deploy_template(template, {}, runtime.client, stack_name="Wired", register_stack=False)
    # then the function URL exists and resolves
    assert re.fullmatch(r"https://[0-9a-f]+\.lambda-url\.us-east-1\.on\.aws/?", outputs["Url"])
    assert outputs["UrlFunction"] == outputs["FunctionArn"]
    url_config = runtime.client("lambda").get_function_url_config(FunctionName=outputs["FunctionArn"])
    assert url_config["FunctionUrl"] == outputs["Url"] and url_config["AuthType"] == "NONE"
    skipped = " | ".join(outputs.skipped)
    assert "AWS::Lambda::Permission DispatchUrlPermission" in skipped and "DispatchUrl:" not in skipped
    # and the topic keeps its key, the secret has a generated value of the asked shape
    topic = runtime.client("sns").get_topic_attributes(TopicArn=outputs["TopicArn"])["Attributes"]
    assert topic["KmsMasterKeyId"].startswith("arn:aws:kms:")
    secret = runtime.client("secretsmanager").get_secret_value(SecretId=outputs["SecretArn"])["SecretString"]
    assert re.fullmatch(r"[A-Za-z0-9]{40}", secret)
    # and the rule delivers to the function
    _put(runtime, {"release_id": "r-3"}, bus="rollgate")
    assert _bodies(_messages(runtime, seen_url)) == [{"release_id": "r-3"}]


@pytest.mark.parametrize(
    ("template_text", "expected"),
    [
        ('"<fn> is <state>"', "orders-api is ALARM"),
        ("<fn> is in state <state>", "orders-api is in state ALARM"),  # plain text, as AWS allows
        ('"<fn> said \\"<quote>\\""', 'orders-api said "it\'s "fine""'),  # values inserted verbatim
    ],
)
def test_string_templates_reach_sns_as_plain_text(runtime: LocalRuntime, template_text: str, expected: str) -> None:
    sns = runtime.client("sns")
    topic_arn = sns.create_topic(Name="notifications")["TopicArn"]
    inbox_url, inbox_arn = _queue(runtime, "inbox")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    _rule(
        runtime,
        "outcomes",
        {"source": ["rollgate"]},
        [
            {
                "Id": "text",
                "Arn": topic_arn,
                "InputTransformer": {
                    "InputPathsMap": {
                        "fn": "$.detail.function_name",
                        "state": "$.detail.state",
                        "quote": "$.detail.quote",
                    },
                    "InputTemplate": template_text,
                },
            }
        ],
    )
    _put(runtime, {"function_name": "orders-api", "state": "ALARM", "quote": 'it\'s "fine"'}, source="rollgate")
    assert [m["Body"] for m in _messages(runtime, inbox_url)] == [expected]
