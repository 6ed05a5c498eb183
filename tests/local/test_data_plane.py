"""The in-process Lambda data plane: routing, errors, async, updates, throttling, metrics, streams."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_local.data_plane import LambdaDataPlane, LambdaServiceError
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import SampleApp, order_payload, smoke_payload
from tests.local.conftest import make_function, payload_of, publish_build, route

COUPON_ORDER = {"order_id": "o-coupon", "items": [{"sku": "sku-eggs", "qty": 1}], "coupon": "SAVE10"}


def _metric(runtime: LocalRuntime, name: str, dims: dict[str, str], stat: str, *, minutes: int = 10) -> list[float]:
    now = runtime.clock.now()
    answer = runtime.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - timedelta(minutes=minutes),
        EndTime=now + timedelta(minutes=minutes),
    )
    return answer["MetricDataResults"][0]["Values"]


def test_alias_weights_are_honoured_on_2000_invokes(runtime: LocalRuntime, app: SampleApp) -> None:
    # given live -> v1 with 10 % on v2
    publish_build(runtime, app, "v2")
    route(runtime, app, "1", {"2": 0.10})
    rng = random.Random(3)
    # when 2000 orders go through the alias
    executed = [
        runtime.data_plane.invoke(app.function_name, app.alias, order_payload(rng)).executed_version
        for _ in range(2000)
    ]
    # then about 10 % ran on v2, the rest on v1
    share = executed.count("2") / len(executed)
    assert set(executed) == {"1", "2"}
    assert 0.07 <= share <= 0.13, share


def test_executed_version_and_lambda_shaped_errors(runtime: LocalRuntime, app: SampleApp) -> None:
    # given live -> v3, a build that fails orders with a coupon
    version = publish_build(runtime, app, "v3")
    route(runtime, app, version)
    lambda_ = runtime.client("lambda")
    # when a smoke order and a coupon order are sent through the alias
    ok = lambda_.invoke(FunctionName=app.function_name, Qualifier=app.alias, Payload=json.dumps(smoke_payload()))
    failed = lambda_.invoke(
        FunctionName=app.function_name, Qualifier=app.alias, Payload=json.dumps(COUPON_ORDER), LogType="Tail"
    )
    # then both report the executed version, the failure like the Python runtime reports it
    assert ok["StatusCode"] == 200 and ok["ExecutedVersion"] == version and "FunctionError" not in ok
    assert payload_of(ok)["ok"] is True
    assert failed["StatusCode"] == 200 and failed["ExecutedVersion"] == version
    assert failed["FunctionError"] == "Unhandled"
    error = payload_of(failed)
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'SAVE10'"
    assert error["requestId"] and any("app.py" in line and "in price" in line for line in error["stackTrace"])
    log = base64.b64decode(failed["LogResult"]).decode()
    assert "START RequestId" in log and "[ERROR] KeyError" in log and "REPORT RequestId" in log


def test_init_failures_are_reported_like_the_python_runtime(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    v5 = publish_build(runtime, app, "v5")  # imports a module missing from the build
    v4 = publish_build(runtime, app, "v4")  # reads PAYMENTS_URL at import
    crashed = lambda_.invoke(FunctionName=app.function_name, Qualifier=v5, Payload=json.dumps(smoke_payload()))
    assert crashed["FunctionError"] == "Unhandled"
    crash = payload_of(crashed)
    assert crash["errorType"] == "Runtime.ImportModuleError"
    assert crash["errorMessage"] == "Unable to import module 'app': No module named 'orders_schema'"
    missing_env = lambda_.invoke(FunctionName=app.function_name, Qualifier=v4, Payload=json.dumps(smoke_payload()))
    assert missing_env["FunctionError"] == "Unhandled"
    assert {k: v for k, v in payload_of(missing_env).items() if k.startswith("error")} == {
        "errorType": "KeyError",
        "errorMessage": "'PAYMENTS_URL'",
    }
    # once the function has the variable, a new version of the same code imports fine
    lambda_.update_function_configuration(
        FunctionName=app.function_name, Environment={"Variables": {"PAYMENTS_URL": "https://payments.internal"}}
    )
    fixed = lambda_.publish_version(FunctionName=app.function_name)["Version"]
    answer = lambda_.invoke(FunctionName=app.function_name, Qualifier=fixed, Payload=json.dumps(smoke_payload()))
    assert "FunctionError" not in answer and payload_of(answer)["build"] == "v4"


def test_async_failure_is_retried_then_lands_in_the_dead_letter_queue(runtime: LocalRuntime, app: SampleApp) -> None:
    # given $LATEST is v3
    publish_build(runtime, app, "v3")
    # when an order with a coupon is sent asynchronously
    answer = runtime.client("lambda").invoke(
        FunctionName=app.function_name, InvocationType="Event", Payload=json.dumps(COUPON_ORDER)
    )
    # then Lambda accepts it, runs it three times (two retries), and the event lands in the DLQ
    assert answer["StatusCode"] == 202
    messages = runtime.client("sqs").receive_message(
        QueueUrl=app.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert len(messages) == 1 and json.loads(messages[0]["Body"]) == COUPON_ORDER
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "'SAVE10'" and "RequestID" in attributes
    assert _metric(runtime, "Invocations", {"FunctionName": app.function_name}, "Sum") == [3.0]
    assert _metric(runtime, "Errors", {"FunctionName": app.function_name}, "Sum") == [3.0]


def test_update_is_in_progress_for_a_while_then_successful(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    started = runtime.clock.now()
    # when the code is updated (default: InProgress for 15 virtual seconds)
    updated = lambda_.update_function_code(FunctionName=app.function_name, ZipFile=publish_zip("v2"))
    assert updated["LastUpdateStatus"] == "InProgress"
    # then publishing or updating again is refused like on AWS while it lasts
    with pytest.raises(ClientError) as conflict:
        lambda_.publish_version(FunctionName=app.function_name)
    assert conflict.value.response["Error"]["Code"] == "ResourceConflictException"
    # and it lasts exactly its 15 virtual seconds
    runtime.clock.sleep(14.9)
    assert lambda_.get_function_configuration(FunctionName=app.function_name)["LastUpdateStatus"] == "InProgress"
    runtime.clock.sleep(0.1)
    assert runtime.clock.now() - started == timedelta(seconds=15)
    assert lambda_.get_function_configuration(FunctionName=app.function_name)["LastUpdateStatus"] == "Successful"
    assert lambda_.publish_version(FunctionName=app.function_name)["Version"] == "2"


def publish_zip(build: str) -> bytes:
    from rollgate_local.sample_app import build_zip

    return build_zip(build)


def test_failed_update_reports_failed_with_the_reason(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    runtime.data_plane.set_update_seconds(app.function_name, 10)
    runtime.data_plane.fail_next_update(app.function_name, "EniLimitExceeded: no ENI capacity", "EniLimitExceeded")
    lambda_.update_function_configuration(FunctionName=app.function_name, MemorySize=512)
    assert lambda_.get_function_configuration(FunctionName=app.function_name)["LastUpdateStatus"] == "InProgress"
    runtime.clock.sleep(12)
    config = lambda_.get_function_configuration(FunctionName=app.function_name)
    assert config["LastUpdateStatus"] == "Failed"
    assert config["LastUpdateStatusReason"] == "EniLimitExceeded: no ENI capacity"
    assert config["LastUpdateStatusReasonCode"] == "EniLimitExceeded"
    # the failure was for that update only
    lambda_.update_function_configuration(FunctionName=app.function_name, MemorySize=256)
    runtime.clock.sleep(12)
    assert lambda_.get_function_configuration(FunctionName=app.function_name)["LastUpdateStatus"] == "Successful"


def test_metrics_per_executed_version_with_p99(runtime: LocalRuntime, app: SampleApp) -> None:
    # given live -> v1 with half the traffic on v6 (three times slower) and 100 orders without coupon
    publish_build(runtime, app, "v6")
    route(runtime, app, "1", {"2": 0.5})
    counts = {"1": 0, "2": 0}
    for _ in range(100):
        counts[runtime.data_plane.invoke(app.function_name, app.alias, smoke_payload()).executed_version] += 1
    # then CloudWatch has them by FunctionName, by Resource and by ExecutedVersion
    resource = f"{app.function_name}:{app.alias}"
    assert _metric(runtime, "Invocations", {"FunctionName": app.function_name}, "Sum") == [100.0]
    assert _metric(runtime, "Invocations", {"FunctionName": app.function_name, "Resource": resource}, "Sum") == [100.0]
    p99 = {}
    for version, count in counts.items():
        dims = {"FunctionName": app.function_name, "Resource": resource, "ExecutedVersion": version}
        assert _metric(runtime, "Invocations", dims, "Sum") == [float(count)]
        assert _metric(runtime, "Errors", dims, "Sum") == [0.0]
        assert _metric(runtime, "Throttles", dims, "Sum") == [0.0]
        (p99[version],) = _metric(runtime, "Duration", dims, "p99")
    assert 40 < p99["1"] < 70 and 2.0 * p99["1"] < p99["2"] < 200, p99


def test_throttling_beyond_the_concurrency_limit(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    lambda_.put_function_concurrency(FunctionName=app.function_name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as throttled:
        lambda_.invoke(FunctionName=app.function_name, Qualifier=app.alias, Payload=json.dumps(smoke_payload()))
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert _metric(runtime, "Throttles", {"FunctionName": app.function_name}, "Sum") == [1.0]
    assert _metric(runtime, "Invocations", {"FunctionName": app.function_name}, "Sum") == []
    # a limit of 1 throttles only what overlaps in (virtual) time
    lambda_.delete_function_concurrency(FunctionName=app.function_name)
    runtime.data_plane.set_concurrency_limit(app.function_name, 1)
    at = runtime.clock.now()
    runtime.data_plane.invoke(app.function_name, app.alias, smoke_payload(), at=at)
    with pytest.raises(LambdaServiceError) as overlapping:
        runtime.data_plane.invoke(app.function_name, app.alias, smoke_payload(), at=at + timedelta(milliseconds=1))
    assert overlapping.value.status == 429
    runtime.data_plane.invoke(app.function_name, app.alias, smoke_payload(), at=at + timedelta(seconds=1))


PROBE = """
import json, os
import boto3
from rollgate.aws.clock import current_clock

def handler(event, context):
    inner = None
    if event.get("nested"):
        answer = boto3.client("lambda").invoke(FunctionName=event["nested"], Payload=b"{}")
        inner = json.loads(answer["Payload"].read())
    return {"color": os.environ.get("COLOR"), "after_inner": os.environ.get("COLOR") if inner else None,
            "inner": inner, "name": context.function_name, "version": context.function_version,
            "arn": context.invoked_function_arn, "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
            "trace": os.environ.get("POWERTOOLS_TRACE_DISABLED"), "virtual_now": current_clock().now().timestamp()}
"""


def test_environment_is_per_function_nested_invokes_work_and_nothing_leaks(runtime: LocalRuntime) -> None:
    # given two functions with the same code and different environments
    make_function(runtime, "outer", {"probe.py": PROBE}, "probe.handler", {"COLOR": "red"}, MemorySize=256)
    make_function(runtime, "inner", {"probe.py": PROBE}, "probe.handler", {"COLOR": "blue"})
    # when outer invokes inner from its handler
    now = runtime.clock.now().timestamp()
    answer = payload_of(runtime.client("lambda").invoke(FunctionName="outer", Payload=b'{"nested": "inner"}'))
    # then each saw its own environment, the clock, and a Lambda-like context
    assert answer["color"] == "red" and answer["after_inner"] == "red" and answer["inner"]["color"] == "blue"
    assert answer["name"] == "outer" and answer["version"] == "$LATEST" and answer["memory"] == 256
    assert answer["arn"].endswith(":function:outer")
    assert answer["trace"] == "true"
    assert answer["virtual_now"] == now  # the handler reads the runtime's clock (no time passed)
    assert answer["remaining"] == 30_000  # its deadline is on that clock too
    # and nothing of the functions' environments is left in this process
    assert "COLOR" not in os.environ and "AWS_LAMBDA_FUNCTION_NAME" not in os.environ


def test_own_packages_are_imported_by_module_path(runtime: LocalRuntime) -> None:
    # given code shipped as a package the data plane treats as our own (like rollgate/)
    runtime.data_plane.own_packages = ("localfixturepkg",)
    files = {
        "localfixturepkg/__init__.py": "",
        "localfixturepkg/task.py": "def handler(event, context):\n    return {'module': __name__}\n",
    }
    make_function(runtime, "own", files, "localfixturepkg.task.handler")
    try:
        answer = payload_of(runtime.client("lambda").invoke(FunctionName="own", Payload=b"{}"))
        # then it is imported under its own name, as on Lambda
        assert answer == {"module": "localfixturepkg.task"}
        assert "localfixturepkg.task" in sys.modules
    finally:
        for name in [n for n in sys.modules if n.startswith("localfixturepkg")]:
            del sys.modules[name]


CACHED = """
import functools
from rollgate.aws.clock import current_clock

@functools.cache
def _deps():
    return {"started": current_clock().now().isoformat()}

def handler(event, context):
    return _deps()
"""


START = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_new_runtime_cold_starts_own_code_module_caches() -> None:
    # given own code that caches its dependencies at module level (the STYLE's _deps())
    files = {"localcachedpkg/__init__.py": "", "localcachedpkg/task.py": CACHED}
    answers = []
    try:
        for start in (START, START + timedelta(days=1)):
            with LocalRuntime(start=start) as local:
                local.data_plane.own_packages = ("localcachedpkg",)
                make_function(local, "cached", files, "localcachedpkg.task.handler")
                answers.append(local.data_plane.invoke("cached").json())
    finally:
        for name in [n for n in sys.modules if n.startswith("localcachedpkg")]:
            del sys.modules[name]
    # then the second runtime's invocation rebuilt them, with its own clock
    assert answers == [{"started": START.isoformat()}, {"started": (START + timedelta(days=1)).isoformat()}]


def test_bad_requests_are_service_errors(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    with pytest.raises(ClientError) as unknown:
        lambda_.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as bad_json:
        lambda_.invoke(FunctionName=app.function_name, Payload=b"{not json")
    assert bad_json.value.response["Error"]["Code"] == "InvalidRequestContentException"
    dry = lambda_.invoke(FunctionName=app.function_name, InvocationType="DryRun", Payload=b"{}")
    assert dry["StatusCode"] == 204


def _always_coupon(rng: random.Random) -> dict[str, Any]:
    return {**order_payload(rng), "coupon": "SAVE10"}


def test_iterator_age_stays_low_while_batches_succeed_and_grows_while_they_fail(
    runtime: LocalRuntime, app: SampleApp
) -> None:
    data_plane = runtime.data_plane
    start = runtime.clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    # given two minutes of batches handled by v1
    for tick in range(12):
        assert (
            data_plane.drive_stream_consumers(
                app.function_name, at=start + timedelta(seconds=10 * tick), record_factory=_always_coupon
            )
            == 1
        )
    # when the alias moves to v3, which fails every batch, for two more minutes
    route(runtime, app, publish_build(runtime, app, "v3"))
    for tick in range(12, 24):
        data_plane.drive_stream_consumers(
            app.function_name, at=start + timedelta(seconds=10 * tick), record_factory=_always_coupon
        )
    # then IteratorAge (Maximum per minute) stayed under a second, then grew with time
    statistics = runtime.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        StartTime=start,
        EndTime=start + timedelta(minutes=4),
        Period=60,
        Statistics=["Maximum"],
        Dimensions=[
            {"Name": "FunctionName", "Value": app.function_name},
            {"Name": "Resource", "Value": f"{app.function_name}:{app.alias}"},
        ],
    )
    maxima = [p["Maximum"] for p in sorted(statistics["Datapoints"], key=lambda p: p["Timestamp"])]
    assert len(maxima) == 4
    assert max(maxima[:2]) < 1000
    assert 50_000 < maxima[2] < maxima[3] and maxima[3] >= 110_000, maxima


def test_code_updated_from_an_s3_artifact_runs(runtime: LocalRuntime, app: SampleApp) -> None:
    from rollgate_local.sample_app import upload_build

    bucket = "artifacts"
    runtime.client("s3").create_bucket(Bucket=bucket)
    runtime.client("s3").put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    artifact = upload_build(runtime, bucket, "v2")
    runtime.data_plane.set_update_seconds(app.function_name, 0)
    updated = runtime.client("lambda").update_function_code(
        FunctionName=app.function_name,
        S3Bucket=artifact.bucket,
        S3Key=artifact.key,
        S3ObjectVersion=artifact.version_id,
    )
    assert updated["CodeSha256"] == artifact.code_sha256 and artifact.version_id
    assert runtime.data_plane.invoke(app.function_name, None, smoke_payload()).json()["currency"] == "EUR"


_SLOW_HANDLER = """
SIMULATED_LATENCY_MS = 2500.0
CALLS = []


def handler(event, context):
    CALLS.append(event)
    return {"ok": True}
"""


def test_an_invocation_modelled_longer_than_the_timeout_times_out_like_lambda(runtime: LocalRuntime) -> None:
    # given a handler that takes 2.5 s (modelled) on a function whose timeout is 3 s
    make_function(runtime, "slow", {"app.py": _SLOW_HANDLER}, "app.handler")
    lambda_ = runtime.client("lambda")
    lambda_.update_function_configuration(FunctionName="slow", Timeout=3)
    runtime.clock.sleep(20)
    assert runtime.data_plane.invoke("slow", None, {}).json() == {"ok": True}
    # when the timeout is lowered below that duration
    lambda_.update_function_configuration(FunctionName="slow", Timeout=2)
    runtime.clock.sleep(20)
    result = runtime.data_plane.invoke("slow", None, {})
    # then the invocation fails with Lambda's timeout error, its answer lost, Duration = the timeout
    assert result.function_error == "Unhandled"
    body = result.json()
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert "Task timed out after 2.00 seconds" in runtime.data_plane.logs("slow")[-1]
    assert "Duration: 2000.00 ms" in runtime.data_plane.logs("slow")[-1]
    assert _metric(runtime, "Errors", {"FunctionName": "slow"}, "Sum") == [1.0]


def test_an_image_function_runs_the_code_of_the_image_its_digest_names(runtime: LocalRuntime) -> None:
    from rollgate_local.images import push_image
    from rollgate_local.sample_app.builds import app_source

    # given two images of orders-api pushed to the local ECR, and a function on the first
    first = push_image(runtime, "orders", {"app.py": app_source("v1")})
    second = push_image(runtime, "orders", {"app.py": app_source("v2")})
    assert first != second and push_image(runtime, "orders", {"app.py": app_source("v1")}) == first
    role = runtime.client("iam").create_role(RoleName="img", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = runtime.client("lambda")
    created = lambda_.create_function(FunctionName="img", Role=role, PackageType="Image", Code={"ImageUri": first})
    assert created["CodeSha256"] == first.rsplit(":", 1)[1]  # Lambda reports the digest's hex
    v1 = lambda_.publish_version(FunctionName="img")["Version"]
    # when $LATEST is updated to the second image by digest and published
    runtime.data_plane.set_update_seconds("img", 0)
    lambda_.update_function_code(FunctionName="img", ImageUri=second)
    v2 = lambda_.publish_version(FunctionName="img")["Version"]
    # then each version runs its own image's code, and GetFunction names each one's image
    assert "currency" not in runtime.data_plane.invoke("img", v1, smoke_payload()).json()
    assert runtime.data_plane.invoke("img", v2, smoke_payload()).json()["currency"] == "EUR"
    for version, image in ((v1, first), (v2, second)):
        code = lambda_.get_function(FunctionName="img", Qualifier=version)["Code"]
        assert code["ImageUri"] == code["ResolvedImageUri"] == image
    # and a digest the registry does not hold is refused, as Lambda refuses it
    with pytest.raises(ClientError, match="ImageNotFoundException"):
        lambda_.update_function_code(FunctionName="img", ImageUri=first.rsplit(":", 1)[0] + ":" + "0" * 64)


def test_image_config_command_overrides_the_images_cmd(runtime: LocalRuntime) -> None:
    from rollgate_local.images import push_image

    image = push_image(
        runtime, "two", {"app.py": "def a(e, c):\n    return 'a'\n\n\ndef b(e, c):\n    return 'b'\n"}, cmd="app.a"
    )
    role = runtime.client("iam").create_role(RoleName="two", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = runtime.client("lambda")
    lambda_.create_function(FunctionName="cmd", Role=role, PackageType="Image", Code={"ImageUri": image})
    lambda_.create_function(
        FunctionName="override",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": image},
        ImageConfig={"Command": ["app.b"]},
    )
    assert runtime.data_plane.invoke("cmd", None, {}).json() == "a"
    assert runtime.data_plane.invoke("override", None, {}).json() == "b"


def test_provisioned_concurrency_is_in_progress_then_ready_on_the_runtime_clock(
    runtime: LocalRuntime, app: SampleApp
) -> None:
    lambda_ = runtime.client("lambda")
    runtime.data_plane.set_provisioning_seconds(app.function_name, 90)
    # given an allocation requested on version 1
    put = lambda_.put_provisioned_concurrency_config(
        FunctionName=app.function_name, Qualifier="1", ProvisionedConcurrentExecutions=3
    )
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 3
    # then it is READY, with every environment available, once its provisioning time has passed
    runtime.clock.sleep(60)
    assert lambda_.get_provisioned_concurrency_config(FunctionName=app.function_name, Qualifier="1")["Status"] == (
        "IN_PROGRESS"
    )
    runtime.clock.sleep(31)
    ready = lambda_.get_provisioned_concurrency_config(FunctionName=app.function_name, Qualifier="1")
    assert (ready["Status"], ready["AvailableProvisionedConcurrentExecutions"]) == ("READY", 3)
    (listed,) = lambda_.list_provisioned_concurrency_configs(FunctionName=app.function_name)[
        "ProvisionedConcurrencyConfigs"
    ]
    assert listed["FunctionArn"].endswith(f":{app.function_name}:1")
    # and $LATEST is refused, a deleted allocation is gone, and a failure is reported with its reason
    with pytest.raises(ClientError, match="InvalidParameterValue"):
        lambda_.put_provisioned_concurrency_config(
            FunctionName=app.function_name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    lambda_.delete_provisioned_concurrency_config(FunctionName=app.function_name, Qualifier="1")
    with pytest.raises(ClientError, match="ProvisionedConcurrencyConfigNotFoundException"):
        lambda_.get_provisioned_concurrency_config(FunctionName=app.function_name, Qualifier="1")
    runtime.data_plane.fail_next_provisioning(app.function_name, "not enough capacity")
    lambda_.put_provisioned_concurrency_config(
        FunctionName=app.function_name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    runtime.clock.sleep(91)
    failed = lambda_.get_provisioned_concurrency_config(FunctionName=app.function_name, Qualifier="1")
    assert (failed["Status"], failed["StatusReason"]) == ("FAILED", "not enough capacity")


# ---- logs in CloudWatch Logs ------------------------------------------------------------------
_STREAM = re.compile(r"^(\d{4}/\d{2}/\d{2})/\[(\$LATEST|\d+)\]([0-9a-f]{32})$")
_REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _plane(runtime: LocalRuntime) -> LambdaDataPlane:
    assert runtime.data_plane is not None
    return runtime.data_plane


def _log_events(runtime: LocalRuntime, group: str, **kwargs: Any) -> list[dict[str, Any]]:
    return runtime.client("logs").filter_log_events(logGroupName=group, **kwargs)["events"]


def _request_id_of(start_line: str) -> str:
    return start_line.split("RequestId: ")[1].split(" ")[0]


def _ingested(runtime: LocalRuntime, last_end_seconds: float = 1.0) -> None:
    """Sleep past the longest ingestion delay (5 s after an invocation ends, the last one ending
    `last_end_seconds` from now)."""
    runtime.clock.sleep(last_end_seconds + 5.0)


def test_each_invocation_is_written_to_its_functions_log_group_as_lambda_writes_it(
    runtime: LocalRuntime, app: SampleApp
) -> None:
    logs = runtime.client("logs")
    group = f"/aws/lambda/{app.function_name}"
    # given the function's log group, there from its creation with no retention, and v3 published
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["logGroupName"] == group and "retentionInDays" not in described
    v3 = publish_build(runtime, app, "v3")
    # when v3 answers an order without a coupon, then a second later one with a coupon (it raises)
    ok = _plane(runtime).invoke(app.function_name, v3, smoke_payload())
    runtime.clock.sleep(1)
    failed = _plane(runtime).invoke(app.function_name, v3, COUPON_ORDER)
    assert ok.function_error is None and failed.function_error == "Unhandled"
    _ingested(runtime)
    # then both ran in one environment, whose stream names the version and the day it started
    events = _log_events(runtime, group)
    (stream,) = {e["logStreamName"] for e in events}
    day, version, _ = _STREAM.match(stream).groups()  # type: ignore[union-attr]
    assert (day, version) == (f"{runtime.clock.now():%Y/%m/%d}", v3)
    messages = [e["message"] for e in events]
    # the first invocation was its cold start (INIT_START, Init Duration), the second was warm
    assert messages[0].startswith("INIT_START Runtime Version: python:3.12")
    first, second = (_request_id_of(m) for m in messages if m.startswith("START RequestId: "))
    assert messages[1] == f"START RequestId: {first} Version: {v3}\n"
    reports = [m for m in messages if m.startswith("REPORT RequestId: ")]
    assert len(reports) == 2 and "\tInit Duration: " in reports[0] and "Init Duration" not in reports[1]
    assert re.fullmatch(
        rf"REPORT RequestId: {first}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB"
        r"\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\n",
        reports[0],
    )
    assert f"END RequestId: {second}\n" in messages
    # and the uncaught KeyError is one event with its traceback, between the second's START and END
    (uncaught,) = [m for m in messages if m.startswith("[ERROR]")]
    assert uncaught.startswith("[ERROR] KeyError: 'SAVE10'\nTraceback (most recent call last):\n")
    # its frames indented with no-break spaces, the code where Lambda places it, no newline at the end
    assert '\n\u00a0\u00a0File "/var/task/app.py", line ' in uncaught and "in price" in uncaught
    assert not uncaught.endswith("\n")
    assert messages.index(uncaught) > messages.index(f"START RequestId: {second} Version: {v3}\n")
    # the in-memory log keeps each invocation's text, as before, an event to a line
    lines = messages[messages.index(f"START RequestId: {second} Version: {v3}\n") :]
    assert _plane(runtime).logs(app.function_name)[-1] == "".join(m if m.endswith("\n") else m + "\n" for m in lines)


def test_a_caught_and_logged_error_is_in_the_logs_only(runtime: LocalRuntime, app: SampleApp) -> None:
    from rollgate.domain.judge.log_lines import classify

    v9 = publish_build(runtime, app, "v9")
    # when v9 prices an order with a coupon (its coupon table is lost; it catches the KeyError)
    answer = _plane(runtime).invoke(app.function_name, v9, COUPON_ORDER)
    # then it answers 200 "accepted" at the full price, no function error ...
    assert answer.function_error is None and answer.json()["status"] == "accepted"
    assert answer.json()["total"] == 3.2
    _ingested(runtime)
    # ... and its log has the record as the Python runtime formats it, traceback in the same event
    (logged,) = _log_events(runtime, f"/aws/lambda/{app.function_name}", filterPattern="ERROR")
    match = re.match(rf"^\[ERROR\]\t(\S+)Z\t({_REQUEST_ID})\t(.*)$", logged["message"], re.DOTALL)
    assert match, logged["message"]
    at, request_id, text = match.groups()
    assert datetime.fromisoformat(at + "+00:00").timestamp() * 1000 == logged["timestamp"]
    assert text.startswith("coupon 'SAVE10' not applied: order charged in full\nTraceback (most recent call last):")
    assert text.endswith("KeyError: 'SAVE10'")  # logging.Formatter adds no newline after a traceback
    # which the judge's parser reads as an error of that request, signature without the coupon
    assert classify(logged["message"]) == ("error", request_id, "coupon '<*>' not applied: order charged in full")


def test_log_events_are_readable_only_after_their_ingestion_delay(runtime: LocalRuntime, app: SampleApp) -> None:
    logs = runtime.client("logs")
    group = f"/aws/lambda/{app.function_name}"
    # given one invocation of v1 (about 40 ms)
    started = runtime.clock.now()
    _plane(runtime).invoke(app.function_name, "1", smoke_payload())
    (stream,) = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
    # then nothing is readable in its first second, by FilterLogEvents or GetLogEvents
    runtime.clock.sleep(0.9)
    assert _log_events(runtime, group) == []
    assert logs.get_log_events(logGroupName=group, logStreamName=stream)["events"] == []
    # and everything is once 5 s have passed since it ended, stamped when it happened
    runtime.clock.sleep(4.2)
    events = _log_events(runtime, group)
    assert len(events) == 4  # INIT_START, START, END, REPORT
    assert len(logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]) == 4
    assert events[0]["timestamp"] == started.timestamp() * 1000
    for event in events:
        assert 1000 <= event["ingestionTime"] - event["timestamp"] <= 5000 + 100


def test_the_delays_and_stream_names_are_seeded() -> None:
    def delays() -> list[Any]:
        with LocalRuntime(seed=5, start=datetime(2026, 3, 1, tzinfo=UTC)) as local:
            app = local.sample_app()
            for _ in range(5):
                _plane(local).invoke(app.function_name, "1", smoke_payload())
                local.clock.sleep(1)
            local.clock.sleep(6)
            events = _log_events(local, f"/aws/lambda/{app.function_name}", filterPattern='"REPORT RequestId"')
            return [(e["ingestionTime"] - e["timestamp"], e["logStreamName"]) for e in events]

    first = delays()
    assert first == delays() and len(first) == 5 and len({delay for delay, _ in first}) > 1


def test_filter_patterns_and_stream_prefixes_as_cloudwatch_logs_reads_them(
    runtime: LocalRuntime, app: SampleApp
) -> None:
    group = f"/aws/lambda/{app.function_name}"
    v3 = publish_build(runtime, app, "v3")
    # given v1 and v3 each invoked with a coupon order (v3 raises) and a smoke order
    for version in ("1", v3):
        _plane(runtime).invoke(app.function_name, version, COUPON_ORDER)
        _plane(runtime).invoke(app.function_name, version, smoke_payload())
    _ingested(runtime)
    day = f"{runtime.clock.now():%Y/%m/%d}"
    # then a stream-name prefix reads one version's environments only
    v3_events = _log_events(runtime, group, logStreamNamePrefix=f"{day}/[{v3}]")
    assert {e["logStreamName"].split("]")[0] for e in v3_events} == {f"{day}/[{v3}"}
    assert _log_events(runtime, group, logStreamNamePrefix=f"{day}/[99]") == []
    # ?term ?"phrase" matches any of them, plain terms all, -term none
    either = _log_events(runtime, group, filterPattern='?Traceback ?"Task timed out"')
    assert len(either) == 1 and either[0]["message"].startswith("[ERROR] KeyError")
    reports = _log_events(runtime, group, filterPattern='?"REPORT RequestId" ?"platform.report"')
    assert len(reports) == 4 and all(e["message"].startswith("REPORT") for e in reports)
    assert len(_log_events(runtime, group, filterPattern='REPORT "Init Duration"')) == 2  # one cold start each
    assert len(_log_events(runtime, group, filterPattern='"REPORT RequestId" -"Init Duration"')) == 2
    # and names and a prefix together are refused, as AWS refuses them
    with pytest.raises(ClientError, match="InvalidParameterException"):
        runtime.client("logs").filter_log_events(
            logGroupName=group, logStreamNames=[v3_events[0]["logStreamName"]], logStreamNamePrefix=day
        )


_CONCURRENT_HANDLER = """
import logging

SIMULATED_LATENCY_MS = 1500.0
log = logging.getLogger("app")


def handler(event, context):
    print("line one\\nline two")
    if event.get("fail"):
        raise ValueError("order 42 failed")
    log.error("could not reach %s", "payments")
    return {"stream": context.log_stream_name}
"""


def test_overlapping_invocations_open_more_environments_each_with_its_stream(runtime: LocalRuntime) -> None:
    make_function(runtime, "slowish", {"app.py": _CONCURRENT_HANDLER}, "app.handler")
    now = runtime.clock.now()
    # when invocations 0.5 s apart each take 1.5 s, then one comes after they all ended
    streams = [
        _plane(runtime).invoke("slowish", None, {}, at=now + timedelta(seconds=0.5 * n)).json()["stream"]
        for n in range(4)
    ]
    later = _plane(runtime).invoke("slowish", None, {}, at=now + timedelta(seconds=10)).json()["stream"]
    # then three environments served the overlap (the fourth reused the first), and the last
    # invocation found the first free again; each handler saw its own stream's name
    assert len(set(streams)) == 3 and streams[3] == streams[0] and later == streams[0]
    assert all(_STREAM.match(stream) for stream in streams)
    _ingested(runtime, 11.5)
    described = runtime.client("logs").describe_log_streams(logGroupName="/aws/lambda/slowish")["logStreams"]
    assert {s["logStreamName"] for s in described} == set(streams)
    # and each print line is an event of its own
    lines = _log_events(runtime, "/aws/lambda/slowish", filterPattern='"line t"')
    assert {e["message"] for e in lines} == {"line two\n"} and len(lines) == 5


def test_the_json_log_format_when_the_logging_config_asks_for_it(runtime: LocalRuntime) -> None:
    from rollgate.domain.judge.log_lines import classify, is_report

    make_function(
        runtime, "structured", {"app.py": _CONCURRENT_HANDLER}, "app.handler", LoggingConfig={"LogFormat": "JSON"}
    )
    lambda_ = runtime.client("lambda")
    config = lambda_.get_function_configuration(FunctionName="structured")["LoggingConfig"]
    assert config == {
        "LogFormat": "JSON",
        "LogGroup": "/aws/lambda/structured",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
    # when it logs an error record, and then raises
    logged = _plane(runtime).invoke("structured", None, {})
    failed = _plane(runtime).invoke("structured", None, {"fail": True})
    assert logged.function_error is None and failed.function_error == "Unhandled"
    _ingested(runtime, 1.5)
    messages = [e["message"] for e in _log_events(runtime, "/aws/lambda/structured")]
    records = [json.loads(m) for m in messages if m.startswith("{")]
    # then the platform records, the application record and the uncaught error are JSON
    kinds = [r.get("type") for r in records if "type" in r]
    first, second = ["platform.initStart", "platform.start"], ["platform.runtimeDone", "platform.report"]
    assert kinds == [*first, "platform.start", *second, *second]  # one after the other, at one instant
    (record,) = [r for r in records if r.get("message") == "could not reach payments"]
    assert (record["level"], record["logger"]) == ("ERROR", "app") and "errorType" not in record
    (uncaught,) = [r for r in records if "errorType" in r and "type" not in r]
    assert set(uncaught) == {"timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"}
    assert (uncaught["errorType"], uncaught["errorMessage"]) == ("ValueError", "order 42 failed")
    reports = [r for r in records if r.get("type") == "platform.report"]
    assert [r["record"]["status"] for r in reports] == ["success", "error"]
    assert (
        reports[0]["record"]["metrics"]["durationMs"] == 1500.0 and "initDurationMs" in reports[0]["record"]["metrics"]
    )
    # and prints stay plain text; the parser reads the JSON records
    assert "line one\n" in messages
    assert classify(json.dumps(record)) == ("error", record["requestId"], "could not reach payments")
    assert classify(json.dumps(uncaught)) == ("error", uncaught["requestId"], "ValueError: order <n> failed")
    assert is_report(json.dumps(reports[1])) == reports[1]["record"]["requestId"]
    # a lower application level is honoured and the text format is back on update
    lambda_.update_function_configuration(
        FunctionName="structured", LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "FATAL"}
    )
    runtime.clock.sleep(20)
    _plane(runtime).invoke("structured", None, {})
    assert '"level": "ERROR"' not in _plane(runtime).logs("structured")[-1]
    lambda_.update_function_configuration(FunctionName="structured", LoggingConfig={"LogFormat": "Text"})
    runtime.clock.sleep(20)
    _plane(runtime).invoke("structured", None, {})
    assert "\tcould not reach payments\n" in _plane(runtime).logs("structured")[-1]


def test_a_timeout_leaves_lambdas_timeout_line_and_restarts_the_runtime(runtime: LocalRuntime) -> None:
    from rollgate.domain.judge.log_lines import classify

    make_function(runtime, "slow", {"app.py": _SLOW_HANDLER}, "app.handler")
    runtime.client("lambda").update_function_configuration(FunctionName="slow", Timeout=2)
    runtime.clock.sleep(20)
    started = runtime.clock.now()
    # when an invocation modelled at 2.5 s runs into its 2 s timeout, and so does one 3 s later
    _plane(runtime).invoke("slow", None, {})
    _plane(runtime).invoke("slow", None, {}, at=started + timedelta(seconds=3))
    _ingested(runtime, 5.0)
    events = _log_events(runtime, "/aws/lambda/slow")
    # then the timeout line is stamped at the timeout, and the REPORT says so
    line, _ = [e for e in events if "Task timed out" in e["message"]]
    match = re.fullmatch(rf"(\S+)Z ({_REQUEST_ID}) Task timed out after 2\.00 seconds\n", line["message"])
    assert match and line["timestamp"] == (started + timedelta(seconds=2)).timestamp() * 1000
    assert classify(line["message"]) == ("timeout", match.group(2), "Task timed out after <n> seconds")
    reports = [e["message"] for e in events if e["message"].startswith("REPORT")]
    assert reports[0].endswith("\tStatus: timeout\n") and "Duration: 2000.00 ms" in reports[0]
    # and the runtime restarted in the same environment: the next invocation is a cold start there
    assert (
        "Init Duration" in reports[1]
        and reports[1].endswith("\tStatus: timeout\n")
        and len({e["logStreamName"] for e in events}) == 1
    )


def test_metrics_can_be_published_minutes_late_as_lambdas_are(runtime: LocalRuntime, app: SampleApp) -> None:
    # given metrics published 90 s after their minute ends, and one invocation now
    _plane(runtime).set_metric_delay(90)
    minute_end = (int(runtime.clock.timestamp()) // 60 + 1) * 60
    _plane(runtime).invoke(app.function_name, "1", smoke_payload())
    invocations = {"FunctionName": app.function_name, "Resource": f"{app.function_name}:1"}
    # then CloudWatch has nothing until then, while the logs have it within seconds
    runtime.clock.sleep(minute_end + 89 - runtime.clock.timestamp())
    assert _metric(runtime, "Invocations", invocations, "Sum") == []
    assert _log_events(runtime, f"/aws/lambda/{app.function_name}", filterPattern='"REPORT RequestId"')
    runtime.clock.sleep(2)
    assert _metric(runtime, "Invocations", invocations, "Sum") == [1.0]


def test_log_events_older_than_the_retention_are_dropped(
    runtime: LocalRuntime, app: SampleApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rollgate_local.bridge import logs

    monkeypatch.setattr(logs, "_TRIM_EVERY", 1)  # look at every write, not every 512th
    group = f"/aws/lambda/{app.function_name}"
    # given an invocation of v1, and a second one seven virtual hours later in the same environment
    first = _plane(runtime).invoke(app.function_name, "1", smoke_payload(), log_type="Tail")
    runtime.clock.sleep(7 * 3600)
    _plane(runtime).invoke(app.function_name, "1", smoke_payload())
    _ingested(runtime)
    # then only the second is kept (the retention is six hours), in the stream both wrote to
    kept = _log_events(runtime, group, startTime=0)
    assert len({e["logStreamName"] for e in kept}) == 1
    assert first.log_result is not None
    first_id = _request_id_of(base64.b64decode(first.log_result).decode().splitlines()[1])
    assert kept and not any(first_id in e["message"] for e in kept)


def test_an_init_error_is_logged_as_the_python_runtime_logs_it(runtime: LocalRuntime, app: SampleApp) -> None:
    v5 = publish_build(runtime, app, "v5")  # imports a module missing from the build
    # when v5 is invoked twice
    for _ in range(2):
        assert _plane(runtime).invoke(app.function_name, v5, smoke_payload()).function_error == "Unhandled"
        runtime.clock.sleep(1)
    _ingested(runtime)
    events = _log_events(runtime, f"/aws/lambda/{app.function_name}")
    messages = [e["message"] for e in events]
    # then each is a cold start in an environment of its own (a failed init leaves none)
    assert len({e["logStreamName"] for e in events}) == 2
    assert sum(m.startswith("INIT_START") for m in messages) == 2
    # with the runtime's warning (no request id: the init phase has none), the error, and the REPORT
    warning = next(m for m in messages if m.startswith("[WARNING]"))
    assert re.match(r"^\[WARNING\]\t\S+Z\t\tUnhandled exception\. The most likely cause", warning)
    errors = [m for m in messages if m.startswith("[ERROR]")]
    assert errors[0] == (
        "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'orders_schema'\n"
        "Traceback (most recent call last):"
    )
    reports = [m for m in messages if m.startswith("REPORT")]
    assert all(r.endswith("\tStatus: error\tError Type: Runtime.ImportModuleError\n") for r in reports)
