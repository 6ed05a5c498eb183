"""`rollgate demo --events`: the event-driven paths on the embedded local runtime.

1. A signed GitHub push to release/2026.11 reaches the webhook receiver; the dispatcher starts the
   Release workflow; CI uploads the manifest after the push; three functions go out in two waves,
   orders-api regresses under real traffic, and the atomic release puts all three back on v1.
2. Build v2 of orders-api is promoted, then its guarding alarm goes into ALARM: Remediate rolls it
   back.
3. The alarm fires again with no recent deployment: nothing changes, and that is recorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

from rollgate.contract import RELEASE_SUCCESS, REMEDIATION_SUCCESS
from rollgate_cli.output import report
from rollgate_cli.progress import Conclusion, ExecutionWatcher
from rollgate_local.demo import ALIAS, FUNCTION, POLL_SECONDS, TRAFFIC_PER_SECOND, demo_request, next_lambda_version

OTHERS = ("payments-api", "inventory-api")
#: The other two functions take traffic too: with none, their canaries could never be judged
#: healthy, and the release would roll back for want of data instead of for orders-api's regression.
OTHERS_TRAFFIC_PER_SECOND = 2.0
REPOSITORY, COMMIT, BRANCH = "acme/shop", "5f2c0e1d9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d", "release/2026.11"
GUARD_ALARM = f"rollgate-guard-{FUNCTION}-errors"


def _function_named_by_handler(runtime: Any, handler: str) -> str:
    for page in runtime.client("lambda").get_paginator("list_functions").paginate():
        for function in page["Functions"]:
            if function.get("Handler") == handler:
                return str(function["FunctionName"])
    raise LookupError(handler)


def _push(runtime: Any, outputs: Any) -> dict[str, Any]:
    """What GitHub sends: a push payload signed with the webhook secret, as a function URL event."""
    secret_arn = next(
        s["ARN"] for s in runtime.client("secretsmanager").list_secrets()["SecretList"] if "Webhook" in s["Name"]
    )
    secret = runtime.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"].encode()
    body = json.dumps(
        {
            "ref": f"refs/heads/{BRANCH}",
            "after": COMMIT,
            "deleted": False,
            "repository": {"full_name": REPOSITORY},
            "pusher": {"name": "dev"},
            "sender": {"login": "dev"},
        }
    ).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    event = {
        "version": "2.0",
        "rawPath": "/",
        "isBase64Encoded": True,
        "body": base64.b64encode(body).decode(),
        "headers": {
            "x-hub-signature-256": signature,
            "x-github-event": "push",
            "x-github-delivery": "demo-1",
            "content-type": "application/json",
        },
        "requestContext": {"http": {"method": "POST", "path": "/"}},
    }
    webhook = _function_named_by_handler(runtime, "rollgate.triggers.github_webhook.lambda_handler")
    response = runtime.client("lambda").invoke(FunctionName=webhook, Payload=json.dumps(event).encode())
    return dict(json.loads(response["Payload"].read()))


def _next_execution(runtime: Any, machine_arn: str, seen: set[str], timeout: float = 60.0) -> str:
    """The execution an event started (EventBridge delivers on its own threads), within `timeout`
    seconds of the runtime's clock."""
    sfn = runtime.client("stepfunctions")
    deadline = runtime.clock.timestamp() + timeout
    while runtime.clock.timestamp() <= deadline:
        for execution in sfn.list_executions(stateMachineArn=machine_arn)["executions"]:
            if execution["executionArn"] not in seen:
                seen.add(execution["executionArn"])
                return str(execution["executionArn"])
        runtime.clock.sleep(1)
    raise TimeoutError(f"no new execution of {machine_arn} within {timeout:g} s")


def _watch(runtime: Any, execution_arn: str, out: TextIO, **options: Any) -> Conclusion:
    watcher = ExecutionWatcher(
        runtime.client("stepfunctions"),
        execution_arn,
        out=out,
        poll_seconds=POLL_SECONDS,
        sleep=runtime.clock.sleep,
        **options,
    )
    return watcher.wait()


def run_event_demo(out: TextIO = sys.stdout, cdk_out: str = "cdk.out") -> int:
    from rollgate_local.deployer import synthesize
    from rollgate_local.runtime import LocalRuntime
    from rollgate_local.sample_app import build_zip, smoke_payload

    started = time.monotonic()
    synthesize(Path(cdk_out))
    outcomes: list[tuple[str, str, str]] = []
    with LocalRuntime() as runtime:
        outputs = runtime.deploy_stack(Path(cdk_out))
        for name in (FUNCTION, *OTHERS):
            runtime.sample_app(
                function_name=name, alias=ALIAS, stream_name="orders-events" if name == FUNCTION else None
            )
        bucket, s3, sfn = outputs["ArtifactBucketName"], runtime.client("s3"), runtime.client("stepfunctions")
        print(
            f"==> {FUNCTION}, {', '.join(OTHERS)} live on Lambda version 1; {FUNCTION} takes "
            f"{TRAFFIC_PER_SECOND:g} req/s, the others {OTHERS_TRAFFIC_PER_SECOND:g} each",
            file=out,
        )
        releases, remediations = set[str](), set[str]()
        with ExitStack() as traffic:
            traffic.enter_context(
                runtime.traffic(function_name=FUNCTION, alias=ALIAS, rate_per_second=TRAFFIC_PER_SECOND)
            )
            for name in OTHERS:
                traffic.enter_context(
                    runtime.traffic(function_name=name, alias=ALIAS, rate_per_second=OTHERS_TRAFFIC_PER_SECOND)
                )
            runtime.clock.sleep(180)

            print(
                f"\n==> 1. push {REPOSITORY}@{COMMIT[:12]} to {BRANCH} (expect ROLLED_BACK: build v3 of {FUNCTION}, "
                f"Lambda version {next_lambda_version(runtime, FUNCTION)} once published, regresses)",
                file=out,
            )
            print(f"  webhook answered {_push(runtime, outputs).get('statusCode')}", file=out)
            release_arn = _next_execution(runtime, outputs["ReleaseStateMachineArn"], releases)
            runtime.clock.sleep(30)  # CI uploads the artifacts and the manifest after the push
            entries = []
            for name in (*OTHERS, FUNCTION):
                key = f"releases/{REPOSITORY}/{COMMIT}/{name}.zip"
                s3.put_object(Bucket=bucket, Key=key, Body=build_zip("v3" if name == FUNCTION else "v2"))
                entries.append({"function_name": name, "artifact": {"bucket": bucket, "key": key}})
            manifest = {
                "application": "shop",
                "atomic": True,
                "defaults": {
                    "strategy": {"type": "canary", "steps": [50], "interval_seconds": 180},
                    "smoke_tests": [{"name": "place-order", "payload": smoke_payload(), "expect_subset": {"ok": True}}],
                    "watch_seconds": 120,
                },
                "waves": [{"name": "backends", "functions": entries[:2]}, {"name": "front", "functions": entries[2:]}],
            }
            s3.put_object(
                Bucket=bucket, Key=f"releases/{REPOSITORY}/{COMMIT}/manifest.json", Body=json.dumps(manifest).encode()
            )
            conclusion = _watch(runtime, release_arn, out, success_outcomes=RELEASE_SUCCESS)
            print(f"  = {conclusion.headline()}", file=out)
            outcomes.append(("push-triggered release", "ROLLED_BACK", conclusion.outcome))

            published_as = next_lambda_version(runtime, FUNCTION)
            print(
                f"\n==> 2. build v2 of {FUNCTION} (Lambda version {published_as} once published) promoted, "
                f"then {GUARD_ALARM} goes into ALARM (expect ROLLED_BACK)",
                file=out,
            )
            key = f"builds/{FUNCTION}-v2.zip"
            s3.put_object(Bucket=bucket, Key=key, Body=build_zip("v2"))
            request = demo_request("v2", bucket, key, smoke_payload(), {})
            deploy = sfn.start_execution(stateMachineArn=outputs["DeployStateMachineArn"], input=json.dumps(request))
            promoted = _watch(runtime, deploy["executionArn"], out, quiet=True)
            print(f"  deployment: {promoted.outcome}: {promoted.reason()}", file=out)
            cloudwatch = runtime.client("cloudwatch")
            cloudwatch.put_metric_alarm(
                AlarmName=GUARD_ALARM,
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=5,
                ComparisonOperator="GreaterThanThreshold",
                Dimensions=[
                    {"Name": "FunctionName", "Value": FUNCTION},
                    {"Name": "Resource", "Value": f"{FUNCTION}:{ALIAS}"},
                ],
            )
            for expected in ("ROLLED_BACK", "NO_ACTION"):
                if expected == "NO_ACTION":
                    print(
                        f"\n==> 3. {GUARD_ALARM} fires again; nothing recent is to blame (expect NO_ACTION)", file=out
                    )
                    cloudwatch.set_alarm_state(AlarmName=GUARD_ALARM, StateValue="OK", StateReason="recovered")
                cloudwatch.set_alarm_state(AlarmName=GUARD_ALARM, StateValue="ALARM", StateReason="Threshold Crossed")
                arn = _next_execution(runtime, outputs["RemediateStateMachineArn"], remediations)
                conclusion = _watch(runtime, arn, out, success_outcomes=REMEDIATION_SUCCESS)
                print(f"  = {conclusion.headline()}", file=out)
                outcomes.append((f"alarm ({expected.lower()})", expected, conclusion.outcome))
        live = {
            n: runtime.client("lambda").get_alias(FunctionName=n, Name=ALIAS)["FunctionVersion"]
            for n in (FUNCTION, *OTHERS)
        }
    print("", file=out)
    for story, expected, outcome in outcomes:
        print(
            f"  {'ok ' if expected == outcome else 'NO '} {story:<24} expected {expected:<12} got {outcome}", file=out
        )
    print(f"\nlive Lambda versions: {live}; wall time {time.monotonic() - started:.1f} s", file=out)
    as_expected = all(expected == outcome for _, expected, outcome in outcomes)
    report(
        out,
        {
            "events": True,
            "stories": [
                {"story": story, "expected": expected, "outcome": outcome, "as_expected": expected == outcome}
                for story, expected, outcome in outcomes
            ],
            "live_versions": live,
            "all_as_expected": as_expected,
        },
    )
    return 0 if as_expected else 1
