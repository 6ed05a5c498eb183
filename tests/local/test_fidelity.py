"""Where the local runtime used to differ from AWS in ways a real client hit, and the process-level
safety of the data plane (handler output captured without swapping the process's streams)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_cli import main as cli_main
from rollgate_local import bridge
from rollgate_local.runtime import LocalRuntime
from rollgate_local.server import PortInUse, ServeInfo, serve
from tests.local.conftest import make_function, zip_of

REPO = Path(__file__).resolve().parents[2]

PRINTING_HANDLER = textwrap.dedent("""
    import logging
    import sys

    stream_logger = logging.getLogger("printing-handler")
    stream_logger.addHandler(logging.StreamHandler(sys.stdout))  # like Powertools: made at import
    stream_logger.propagate = False
    stream_logger.setLevel(logging.INFO)

    def handler(event, context):
        print(f"handler out {event['n']}")
        print(f"handler err {event['n']}", file=sys.stderr)
        sys.stdout.write(f"handler write {event['n']}\\n")
        stream_logger.info("handler logged %s", event["n"])
        return {"n": event["n"]}
""")

# Runs in a child process so that a crash (the old per-invocation stream swap segfaulted) is a
# failed assertion naming the signal, not a dead test session.
PRINT_STORM = textwrap.dedent("""
    import json, sys, threading
    from rollgate_local.runtime import LocalRuntime
    from tests.local.conftest import make_function

    handler_source, summary_path = sys.argv[1], sys.argv[2]
    with LocalRuntime(seed=7) as runtime:
        make_function(runtime, "printer", {"app.py": handler_source}, "app.handler")
        stop = threading.Event()

        def print_outside_invocations(index):
            line = 0
            while not stop.is_set():
                print(f"bystander {index} line {line}")
                print(f"bystander {index} err {line}", file=sys.stderr)
                line += 1

        def invoke(offset):
            for n in range(offset, offset + 2000):
                assert runtime.data_plane.invoke("printer", None, {"n": n}).json() == {"n": n}

        bystanders = [threading.Thread(target=print_outside_invocations, args=(i,)) for i in range(3)]
        invokers = [threading.Thread(target=invoke, args=(i * 10000,)) for i in range(3)]
        for thread in bystanders + invokers:
            thread.start()
        for thread in invokers:
            thread.join()
        stop.set()
        for thread in bystanders:
            thread.join()
        logs = runtime.data_plane.logs("printer")
        stdout_name = sys.stdout.name
    with open(summary_path, "w") as summary:
        json.dump({"logs": logs, "stdout_name": stdout_name}, summary)
""")


def test_printing_on_many_threads_while_handlers_run_keeps_the_process_alive_and_output_in_the_log(
    tmp_path: Path,
) -> None:
    # given a function whose handler prints, writes to stderr and logs through a StreamHandler,
    # invoked from three threads while three other threads print outside any invocation
    summary = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "functions"), str(REPO)])}
    # when it runs in its own process
    child = subprocess.run(
        [sys.executable, "-c", PRINT_STORM, PRINTING_HANDLER, str(summary)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
        check=False,
    )
    # then the process survives (no segfault, no AttributeError on the stream)
    assert child.returncode == 0, f"exit {child.returncode}:\n{child.stderr[-3000:]}"
    result = json.loads(summary.read_text())
    # the stream keeps the TextIO surface of the one it forwards to
    assert result["stdout_name"] == "<stdout>"
    # each invocation's output is in its own log entry, and nothing from the bystanders is
    logs = result["logs"]
    assert logs, "no log entries"
    for entry in logs:
        n = entry.split("handler out ")[1].split("\n")[0]
        for line in (f"handler out {n}", f"handler err {n}", f"handler write {n}", f"handler logged {n}"):
            assert f"\n{line}\n" in entry, (line, entry)
        assert "bystander" not in entry
    # and the bystanders' output reached the process's real streams, the handlers' did not
    # (print writes the text and its newline separately, so lines of different threads interleave)
    assert "bystander 0 line 0" in child.stdout and "bystander 2 err 0" in child.stderr
    assert "handler out" not in child.stdout and "handler err" not in child.stderr


def test_a_handlers_print_lands_in_its_log_whoever_holds_sys_stdout() -> None:
    # given a runtime, and then a stream put into sys.stdout after it started (pytest's capture
    # does this between test phases)
    with LocalRuntime(seed=7) as runtime:
        make_function(runtime, "printer", {"app.py": PRINTING_HANDLER}, "app.handler")
        original = sys.stdout
        sys.stdout = io.StringIO()
        try:
            # when the handler prints
            assert runtime.data_plane.invoke("printer", None, {"n": 1}).json() == {"n": 1}
        finally:
            replaced, sys.stdout = sys.stdout, original
        # then its print is in the function's log, not in that stream
        (entry,) = runtime.data_plane.logs("printer")
        assert "\nhandler out 1\n" in entry and "\nhandler err 1\n" in entry
        assert "handler out" not in replaced.getvalue()


# ---- Step Functions --------------------------------------------------------------------------
FLAKY_HANDLER = textwrap.dedent("""
    CALLS = []

    def handler(event, context):
        CALLS.append(event)
        if len(CALLS) == 1:
            raise RuntimeError("the first call fails")
        return {"calls": len(CALLS), "seen": event}
""")


def _state_machine(runtime: LocalRuntime, name: str, definition: dict[str, Any]) -> str:
    role = runtime.client("iam").create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return runtime.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]


def _flaky_machine(runtime: LocalRuntime) -> str:
    function_arn = make_function(runtime, "flaky", {"app.py": FLAKY_HANDLER}, "app.handler")
    return _state_machine(
        runtime,
        "redrivable",
        {
            "StartAt": "Prepare",
            "States": {
                "Prepare": {"Type": "Pass", "Result": {"prepared": True}, "ResultPath": "$.prepare", "Next": "Work"},
                "Work": {"Type": "Task", "Resource": function_arn, "ResultPath": "$.work", "Next": "Cool"},
                "Cool": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
                "Done": {"Type": "Succeed"},
            },
        },
    )


def _entered(events: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_executions_started_without_a_name_get_unique_generated_names(runtime: LocalRuntime) -> None:
    machine = _state_machine(runtime, "nameless", {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    sfn = runtime.client("stepfunctions")
    # when two executions are started without a name
    first = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    # then each has its own generated name (a UUID, as on AWS), and both run
    names = [runtime.wait_for_execution(arn)["name"] for arn in (first, second)]
    assert first != second and len(set(names)) == 2 and "None" not in names
    assert all(str(uuid.UUID(name)) == name for name in names)
    assert {e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]} == set(names)


def test_a_failed_execution_is_redriven_from_its_failed_state(runtime: LocalRuntime) -> None:
    # given an execution that failed in its second state
    machine = _flaky_machine(runtime)
    sfn = runtime.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, name="once", input=json.dumps({"order": 7}))["executionArn"]
    failed = runtime.wait_for_execution(arn)
    assert failed["status"] == "FAILED" and failed["redriveStatus"] == "REDRIVABLE"
    assert failed["redriveCount"] == 0
    # when it is redriven
    redriven = sfn.redrive_execution(executionArn=arn)
    # then the same execution is RUNNING again (its Wait cannot end while this thread is busy: virtual
    # time moves only when every actor waits) ...
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    # ... from the failed state, with that state's input, and succeeds
    ended = runtime.wait_for_execution(arn)
    assert ended["status"] == "SUCCEEDED" and ended["name"] == "once"
    assert ended["redriveCount"] == 1 and ended["redriveDate"] == redriven["redriveDate"]
    assert ended["redriveDate"] >= failed["stopDate"]
    output = json.loads(ended["output"])
    assert output["work"] == {"calls": 2, "seen": {"order": 7, "prepare": {"prepared": True}}}
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert types.count("ExecutionRedriven") == 1 and types[-1] == "ExecutionSucceeded"
    redrive_at = types.index("ExecutionRedriven")
    assert types[redrive_at - 1] == "ExecutionFailed"
    assert _entered(events[:redrive_at]) == ["Prepare", "Work"]
    assert _entered(events[redrive_at:]) == ["Work", "Cool", "Done"]
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    # and a succeeded execution cannot be redriven
    assert ended["redriveStatus"] == "NOT_REDRIVABLE"
    with pytest.raises(ClientError) as refused:
        sfn.redrive_execution(executionArn=arn)
    assert refused.value.response["Error"]["Code"] == "ExecutionNotRedrivable"


def test_execution_history_honours_reverse_order_and_pages(runtime: LocalRuntime) -> None:
    machine = _state_machine(
        runtime,
        "history",
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {"Type": "Pass", "Next": "C"},
                "C": {"Type": "Succeed"},
            },
        },
    )
    sfn = runtime.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    runtime.wait_for_execution(arn)
    forward = sfn.get_execution_history(executionArn=arn)["events"]
    backward = sfn.get_execution_history(executionArn=arn, reverseOrder=True)["events"]
    assert [e["id"] for e in backward] == [e["id"] for e in reversed(forward)]
    assert backward[0]["type"] == "ExecutionSucceeded" and backward[-1]["type"] == "ExecutionStarted"
    # pages of two, newest first, as the AWS CLI's --reverse-order reads them
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, reverseOrder=True, PaginationConfig={"PageSize": 2}
    )
    paged = [event["id"] for page in pages for event in page["events"]]
    assert paged == [e["id"] for e in backward] and len(forward) > 2


# ---- CloudWatch ------------------------------------------------------------------------------
def test_list_metrics_lists_each_metric_once(runtime: LocalRuntime) -> None:
    # given datapoints of the same metrics over several minutes (one, two and three dimensions)
    cloudwatch = runtime.client("cloudwatch")
    at = runtime.clock.now().replace(second=0, microsecond=0)
    dimension_sets = [
        [{"Name": "FunctionName", "Value": "f"}],
        [{"Name": "FunctionName", "Value": "f"}, {"Name": "Resource", "Value": "f:live"}],
        [
            {"Name": "FunctionName", "Value": "f"},
            {"Name": "Resource", "Value": "f:live"},
            {"Name": "ExecutedVersion", "Value": "2"},
        ],
    ]
    for minute in range(3):
        cloudwatch.put_metric_data(
            Namespace="Fidelity",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dims,
                    "Value": 1.0,
                    "Timestamp": at - timedelta(minutes=minute),
                }
                for dims in dimension_sets
            ],
        )
    # when they are listed
    listed = cloudwatch.list_metrics(Namespace="Fidelity")["Metrics"]
    # then each (name, dimensions) appears once, and the Dimensions filter keeps those that have it
    keys = [(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in listed]
    assert sorted(keys) == sorted(
        ("Invocations", tuple(sorted((d["Name"], d["Value"]) for d in dims))) for dims in dimension_sets
    )
    by_resource = cloudwatch.list_metrics(Namespace="Fidelity", Dimensions=[{"Name": "Resource"}])["Metrics"]
    assert len(by_resource) == 2
    by_version = cloudwatch.list_metrics(Namespace="Fidelity", Dimensions=[{"Name": "ExecutedVersion", "Value": "2"}])[
        "Metrics"
    ]
    assert len(by_version) == 1


# ---- one clock for every service ---------------------------------------------------------------
class _FixedClock:
    """A bridge clock stopped at one instant, far from the wall clock."""

    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant

    def seconds_to_real(self, virtual_seconds: float) -> float:
        return 0.0


def test_every_service_stamps_resources_with_the_bridges_clock(runtime: LocalRuntime) -> None:
    # given the bridge's clock at an instant years from the wall clock
    instant = datetime(2031, 5, 17, 9, 30, 12, tzinfo=UTC)
    bridge.install(runtime.data_plane, _FixedClock(instant))  # type: ignore[arg-type]
    try:
        # when resources are created in S3, Lambda, CloudFormation, and an event is put
        s3 = runtime.client("s3")
        s3.create_bucket(Bucket="stamped")
        s3.put_object(Bucket="stamped", Key="k", Body=b"x")
        make_function(runtime, "stamped", {"app.py": "def handler(e, c):\n    return 1\n"}, "app.handler")
        runtime.client("cloudformation").create_stack(
            StackName="stamped", TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
        )
        sqs = runtime.client("sqs")
        queue = sqs.create_queue(QueueName="stamped-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = runtime.client("events")
        events.put_rule(Name="stamped", EventPattern=json.dumps({"source": ["fidelity"]}))
        events.put_targets(Rule="stamped", Targets=[{"Id": "q", "Arn": queue_arn}])
        events.put_events(Entries=[{"Source": "fidelity", "DetailType": "t", "Detail": "{}"}])
        # then each is stamped with that instant, like the metrics and executions
        assert s3.head_object(Bucket="stamped", Key="k")["LastModified"] == instant.replace(microsecond=0)
        (listed,) = s3.list_objects_v2(Bucket="stamped")["Contents"]
        assert listed["LastModified"] == instant.replace(microsecond=0)
        configuration = runtime.client("lambda").get_function_configuration(FunctionName="stamped")
        assert configuration["LastModified"].startswith("2031-05-17T09:30:12")
        (stack,) = runtime.client("cloudformation").describe_stacks(StackName="stamped")["Stacks"]
        assert stack["CreationTime"] == instant
        (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
        assert json.loads(message["Body"])["time"] == "2031-05-17T09:30:12Z"
    finally:
        bridge.install(runtime.data_plane, runtime.clock)  # type: ignore[arg-type]


# ---- IAM: the managed-function tag condition ---------------------------------------------------
TASK_HANDLER = textwrap.dedent("""
    import boto3
    from botocore.exceptions import ClientError

    def handler(event, context):
        lambda_ = boto3.client("lambda")
        try:
            lambda_.update_function_configuration(FunctionName=event["target"], Description="by a task")
        except ClientError as error:
            return {"error": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
        return {"error": None}
""")
MANAGED_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["lambda:UpdateFunctionConfiguration", "lambda:UpdateFunctionCode"],
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:*",
            "Condition": {"StringEquals": {"aws:ResourceTag/rollgate:managed": "true"}},
        }
    ],
}


def test_task_roles_reach_only_functions_with_the_managed_tag(runtime: LocalRuntime) -> None:
    # given a task whose role may change only functions tagged rollgate:managed=true, like
    # Rollgate's task roles, and two functions, one tagged and one not
    iam = runtime.client("iam")
    role = iam.create_role(RoleName="task-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(RoleName="task-role", PolicyName="managed", PolicyDocument=json.dumps(MANAGED_ONLY))
    lambda_ = runtime.client("lambda")
    code = {"app.py": "def handler(e, c):\n    return 1\n"}
    make_function(runtime, "managed", code, "app.handler", Tags={"rollgate:managed": "true"})
    make_function(runtime, "unmanaged", code, "app.handler")
    lambda_.create_function(
        FunctionName="task",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": TASK_HANDLER})},
        Timeout=30,
    )
    # when the task changes each of them
    denied = runtime.data_plane.invoke("task", None, {"target": "unmanaged"}).json()
    allowed = runtime.data_plane.invoke("task", None, {"target": "managed"}).json()
    # then IAM's tag condition refuses the untagged one, as on AWS, and lets the tagged one change
    assert denied["error"] == "AccessDeniedException"
    assert denied["message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/task-role/task is not authorized to perform: "
        "lambda:UpdateFunctionConfiguration on resource: arn:aws:lambda:us-east-1:123456789012:function:unmanaged "
        "because no identity-based policy allows the lambda:UpdateFunctionConfiguration action"
    )
    assert allowed == {"error": None}
    assert lambda_.get_function_configuration(FunctionName="managed")["Description"] == "by a task"
    assert lambda_.get_function_configuration(FunctionName="unmanaged").get("Description", "") == ""
    # and code outside any task (this test, the CLI) is an administrator: it still changes either
    lambda_.update_function_configuration(FunctionName="unmanaged", Description="by the operator")
    assert lambda_.get_function_configuration(FunctionName="unmanaged")["Description"] == "by the operator"


# ---- `rollgate local serve` ------------------------------------------------------------------
URL_HANDLER = """import json

def handler(event, context):
    if event["headers"].get("x-token") != "open-sesame":
        return {"statusCode": 401, "headers": {"content-type": "text/plain"}, "body": "invalid signature"}
    return {"statusCode": 202, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "method": event["requestContext"]["http"]["method"],
                                "query": event["rawQueryString"], "body": json.loads(event["body"])})}
"""
URL_STACK = {
    "Resources": {
        "ReceiverRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Receiver": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["ReceiverRole", "Arn"]},
                "Code": {"ZipFile": URL_HANDLER},
            },
        },
        "ReceiverUrl": {
            "Type": "AWS::Lambda::Url",
            "Properties": {"AuthType": "NONE", "TargetFunctionArn": {"Fn::GetAtt": ["Receiver", "Arn"]}},
        },
    },
    "Outputs": {"ReceiverUrl": {"Value": {"Fn::GetAtt": ["ReceiverUrl", "FunctionUrl"]}}},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read().decode()


def test_serve_answers_function_urls_over_http_and_logs_requests_without_colour(tmp_path: Path) -> None:
    # given `local serve` with a stack holding a function URL, its output not a terminal
    (tmp_path / "Rollgate.template.json").write_text(json.dumps(URL_STACK))
    port, ready, stop, out = _free_port(), threading.Event(), threading.Event(), io.StringIO()
    infos: list[ServeInfo] = []
    server = threading.Thread(
        target=serve,
        kwargs={
            "port": port,
            "speed": 60.0,
            "outdir": str(tmp_path),
            "synth": False,
            "sample_app": False,
            "ready": ready,
            "stop": stop,
            "on_ready": infos.append,
            "out": out,
        },
        daemon=True,
    )
    server.start()
    try:
        while not ready.wait(0.1):  # no deadline: a serve() that fails ends its thread
            assert server.is_alive(), out.getvalue()
        ((local_url, function_arn),) = infos[0].function_urls.items()
        assert local_url.startswith(f"http://127.0.0.1:{port}/lambda-url/") and "Receiver" in function_arn
        assert f"Function URL: {local_url}" in out.getvalue()
        # when a webhook is posted to it, path-style and with the URL's own Host
        refused = _request(local_url + "hooks?x=1", b'{"a": 1}', {"Content-Type": "application/json"})
        accepted = _request(local_url + "hooks?x=1", b'{"a": 1}', {"X-Token": "open-sesame"})
        aws_host = infos[0].outputs["ReceiverUrl"].split("://", 1)[1].rstrip("/")
        by_host = _request(f"http://127.0.0.1:{port}/deliveries", b"[]", {"Host": aws_host, "X-Token": "open-sesame"})
        # then the handler answers with Lambda's function URL event and response mapping
        assert refused == (401, "text/plain", "invalid signature")
        assert accepted[:2] == (202, "application/json")
        assert json.loads(accepted[2]) == {"path": "/hooks", "method": "POST", "query": "x=1", "body": {"a": 1}}
        assert json.loads(by_host[2])["path"] == "/deliveries" and by_host[0] == 202
        # and the request log names each request, without colour codes
        log = out.getvalue()
        assert "POST /lambda-url/" in log and '" 401 ' in log
        assert "\x1b[" not in log
    finally:
        stop.set()
        server.join(timeout=60)
    assert not server.is_alive()


def test_serve_on_a_busy_port_fails_at_once_naming_the_port() -> None:
    # given a port something else listens on
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        # when `local serve` is asked for it, then it refuses before starting anything
        with pytest.raises(PortInUse) as busy:
            serve(port=port, outdir=None, sample_app=False, out=io.StringIO())
        assert f"port {port} on 127.0.0.1 is already in use" in str(busy.value.strerror)
        # and the command exits 2 with that message instead of hanging
        err = io.StringIO()
        assert cli_main.run(["local", "serve", "--port", str(port)], out=io.StringIO(), err=err) == 2
        assert err.getvalue().startswith(f"rollgate local serve: port {port} on 127.0.0.1 is already in use")


# ---- CloudFormation: the deployed stack's resources --------------------------------------------
def test_the_deployed_stack_describes_the_resources_it_created(runtime: LocalRuntime, tmp_path: Path) -> None:
    # given a stack deployed by the local deployer (one of its resources not modelled locally)
    template = {**URL_STACK, "Resources": {**URL_STACK["Resources"], "Meta": {"Type": "AWS::CDK::Metadata"}}}
    (tmp_path / "Rollgate.template.json").write_text(json.dumps(template))
    outputs = runtime.deploy_stack(tmp_path)
    cloudformation = runtime.client("cloudformation")
    # when its resources are listed and described
    summaries = cloudformation.list_stack_resources(StackName="Rollgate")["StackResourceSummaries"]
    (receiver,) = cloudformation.describe_stack_resources(StackName="Rollgate", LogicalResourceId="Receiver")[
        "StackResources"
    ]
    detail = cloudformation.describe_stack_resource(StackName="Rollgate", LogicalResourceId="ReceiverRole")[
        "StackResourceDetail"
    ]
    # then they are the ones created, each with its physical id (the Ref value) and type
    assert sorted((s["LogicalResourceId"], s["ResourceType"], s["ResourceStatus"]) for s in summaries) == [
        ("Receiver", "AWS::Lambda::Function", "CREATE_COMPLETE"),
        ("ReceiverRole", "AWS::IAM::Role", "CREATE_COMPLETE"),
        ("ReceiverUrl", "AWS::Lambda::Url", "CREATE_COMPLETE"),
    ]
    assert {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries} == {
        logical_id: outputs.physical_ids[logical_id] for logical_id in ("Receiver", "ReceiverRole", "ReceiverUrl")
    }
    assert receiver["ResourceType"] == "AWS::Lambda::Function"
    function = runtime.client("lambda").get_function(FunctionName=receiver["PhysicalResourceId"])
    assert function["Configuration"]["FunctionName"] == receiver["PhysicalResourceId"]
    assert runtime.client("iam").get_role(RoleName=detail["PhysicalResourceId"])["Role"]["RoleName"]
    assert detail["ResourceType"] == "AWS::IAM::Role"
    with pytest.raises(ClientError) as missing:
        cloudformation.describe_stack_resource(StackName="Rollgate", LogicalResourceId="Meta")
    assert missing.value.response["Error"]["Code"] == "ValidationError"
