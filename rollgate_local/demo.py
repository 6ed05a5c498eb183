"""`rollgate demo` (and `make demo`): four releases of a sample app on the embedded local runtime.

The sample app `orders-api` is live on Lambda version 1 with steady traffic. Rollgate releases four
builds of it (named v2 to v5; each becomes whatever Lambda version number it is published as, which
is what the gate lines and the versions column show)
through the real, synthesized DeployFunction state machine, with a production-shaped policy
(60-second metric periods, a five-minute canary bake, a three-minute watch). The runtime's clock is
virtual: it moves only while every part of the system waits, so the bakes and watches cost nothing
but the work in them (the traffic and the states), and every run gives the same outcomes.

As on AWS, the sample app's logs reach CloudWatch Logs seconds after each invocation and its
metrics one to a few minutes after their minute (METRIC_DELAY_SECONDS), so a build that fails real
traffic is caught on its log lines at the first judgement. The summary table says, per build, how
long the judge took to see a bad canary (first canary traffic to the UNHEALTHY verdict: the
result's time_to_detect_seconds), which evidence decided, and what the new version's metrics said
once published ("metrics later": errors/invocations through the alias while its release ran).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from rollgate_cli.output import report
from rollgate_cli.progress import ExecutionWatcher
from rollgate_cli.views import table

TRAFFIC_PER_SECOND = 5.0
#: Lambda's metrics reach CloudWatch this long after their minute ends (its logs within seconds)
METRIC_DELAY_SECONDS = (60.0, 150.0)
POLL_SECONDS = 15.0  # virtual seconds between reads of the execution (each read costs real milliseconds)
FUNCTION, ALIAS = "orders-api", "live"


@dataclass(frozen=True)
class Scenario:
    build: str
    story: str
    expected: str
    extra: dict[str, Any]


SCENARIOS = [
    Scenario("v2", "a good build", "PROMOTED", {}),
    Scenario("v3", "fails orders with a coupon (only real traffic has them)", "ROLLED_BACK", {}),
    Scenario(
        "v4", "needs PAYMENTS_URL, which the function lacks", "REJECTED", {"required_environment": ["PAYMENTS_URL"]}
    ),
    Scenario("v5", "crashes at import", "REJECTED", {}),
]


def demo_request(build: str, bucket: str, key: str, smoke_payload: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """A production-shaped request: what a team would really run."""
    return {
        "function_name": FUNCTION,
        "alias": ALIAS,
        "artifact": {"bucket": bucket, "key": key},
        "strategy": {"type": "canary", "steps": [10], "interval_seconds": 300},
        "smoke_tests": [{"name": "place-order", "payload": smoke_payload, "expect_subset": {"ok": True}}],
        "health": {"metric_period_seconds": 60, "on_inconclusive": "extend", "max_extension_seconds": 300},
        "watch_seconds": 180,
        "update_polling": {"interval_seconds": 5, "max_polls": 60},
        "provenance": {"trigger": "demo", "release_id": f"demo-{build}"},
        **extra,
    }


def _versions(result: dict[str, Any]) -> str:
    """`vFROM -> vTO` of the execution's result (a DeploymentResult as JSON), "-" without both."""
    before, after = result.get("from_version"), result.get("to_version")
    return f"v{before} -> v{after}" if before and after else "-"


def _detected(result: dict[str, Any]) -> str:
    """First canary traffic to the UNHEALTHY verdict, in virtual seconds ("-": nothing to detect)."""
    seconds = result.get("time_to_detect_seconds")
    return "-" if seconds is None else f"{float(seconds):.0f} s"


def _metrics_later(runtime: Any, span: tuple[datetime, datetime], version: str | None) -> dict[str, int] | None:
    """What AWS/Lambda's metrics said, once published, about the new version's invocations through
    the alias while its release ran: the confirmation of a verdict the logs decided. None when it
    served no traffic (rejected before any)."""
    if not version:
        return None
    dimensions = [
        {"Name": "FunctionName", "Value": FUNCTION},
        {"Name": "Resource", "Value": f"{FUNCTION}:{ALIAS}"},
        {"Name": "ExecutedVersion", "Value": str(version)},
    ]
    queries = [
        {
            "Id": name.lower(),
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": dimensions},
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for name in ("Errors", "Invocations")
    ]
    start, end = span
    answer = runtime.client("cloudwatch").get_metric_data(
        MetricDataQueries=queries, StartTime=start - timedelta(minutes=1), EndTime=end + timedelta(minutes=1)
    )
    sums = {r["Id"]: int(sum(r["Values"])) for r in answer["MetricDataResults"]}
    return {"errors": sums["errors"], "invocations": sums["invocations"]} if sums["invocations"] else None


def next_lambda_version(runtime: Any, function_name: str) -> str:
    """The number Lambda gives the next version it publishes of the function: what the gate lines
    will call the build (vN), which need not match the build's own name."""
    listed = runtime.client("lambda").list_versions_by_function(FunctionName=function_name)["Versions"]
    return str(max((int(v["Version"]) for v in listed if v["Version"].isdigit()), default=0) + 1)


def run_demo(out: TextIO = sys.stdout, cdk_out: str = "cdk.out") -> int:
    from rollgate_local.deployer import synthesize
    from rollgate_local.runtime import LocalRuntime
    from rollgate_local.sample_app import build_zip, smoke_payload

    started = time.monotonic()
    print("==> synthesizing the Rollgate stack (cdk-nag runs on every synth)", file=out, flush=True)
    synthesize(Path(cdk_out))
    results: list[list[str]] = []
    summaries: list[dict[str, Any]] = []
    failures = 0
    with LocalRuntime() as runtime:
        outputs = runtime.deploy_stack(Path(cdk_out))
        assert runtime.data_plane is not None
        runtime.data_plane.set_metric_delay(*METRIC_DELAY_SECONDS)
        runtime.sample_app(function_name=FUNCTION, alias=ALIAS)
        print(
            f"==> local runtime up ({runtime.clock.describe()}); {FUNCTION}:{ALIAS} live on Lambda version 1 "
            f"(v1), {TRAFFIC_PER_SECOND:g} requests/s\n"
            "    builds are named v2-v5; Lambda numbers the versions it publishes, so a build's Lambda "
            "version can differ from its name (a build rejected after publishing still takes a number)",
            file=out,
            flush=True,
        )
        s3, sfn = runtime.client("s3"), runtime.client("stepfunctions")
        with runtime.traffic(function_name=FUNCTION, alias=ALIAS, rate_per_second=TRAFFIC_PER_SECOND):
            runtime.clock.sleep(180)  # three minutes of v1 traffic: the baseline the watch compares with
            for scenario in SCENARIOS:
                key = f"builds/{FUNCTION}-{scenario.build}.zip"
                s3.put_object(Bucket=outputs["ArtifactBucketName"], Key=key, Body=build_zip(scenario.build))
                request = demo_request(
                    scenario.build, outputs["ArtifactBucketName"], key, smoke_payload(), scenario.extra
                )
                print(
                    f"\n==> build {scenario.build}: {scenario.story} (expect {scenario.expected}); "
                    f"Lambda version {next_lambda_version(runtime, FUNCTION)} if it is published",
                    file=out,
                )
                virtual_start = runtime.clock.now()
                execution = sfn.start_execution(
                    stateMachineArn=outputs["DeployStateMachineArn"],
                    name=f"demo-{scenario.build}",
                    input=json.dumps(request),
                )["executionArn"]
                watcher = ExecutionWatcher(
                    sfn, execution, out=out, poll_seconds=POLL_SECONDS, sleep=runtime.clock.sleep
                )
                conclusion = watcher.wait()
                elapsed = (runtime.clock.now() - virtual_start).total_seconds()
                ok = conclusion.outcome == scenario.expected
                failures += 0 if ok else 1
                result = conclusion.result or {}
                results.append(
                    [
                        scenario.build,
                        scenario.expected,
                        conclusion.outcome,
                        "yes" if ok else "NO",
                        _versions(result),
                        f"{elapsed / 60:.1f} min",
                        _detected(result),
                        result.get("decided_by") or "-",
                        "",  # metrics later: read once every minute of the demo is published
                        f"{watcher.transitions}/{watcher.task_invocations}",
                        conclusion.reason()[:100],
                    ]
                )
                summaries.append(
                    {
                        "build": scenario.build,
                        "expected": scenario.expected,
                        "outcome": conclusion.outcome,
                        "as_expected": ok,
                        "from_version": result.get("from_version"),
                        "to_version": result.get("to_version"),
                        "virtual_seconds": elapsed,
                        "time_to_detect_seconds": result.get("time_to_detect_seconds"),
                        "decided_by": result.get("decided_by"),
                        "transitions": watcher.transitions,
                        "task_invocations": watcher.task_invocations,
                        "reason": conclusion.reason(),
                        "execution_arn": execution,
                        "span": (virtual_start, runtime.clock.now()),
                    }
                )
                print(f"  = {conclusion.headline()}", file=out, flush=True)
            # the metrics arrive minutes late: wait for the last minute's, then read what they say
            runtime.clock.sleep(60 + METRIC_DELAY_SECONDS[1])
            for row, summary in zip(results, summaries, strict=True):
                confirmed = _metrics_later(runtime, summary.pop("span"), summary["to_version"])
                summary["metrics_later"] = confirmed
                row[8] = "-" if confirmed is None else f"errors {confirmed['errors']}/{confirmed['invocations']}"
        live = runtime.client("lambda").get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"]
    print(
        "\n"
        + table(
            results,
            [
                "build",
                "expected",
                "outcome",
                "ok",
                "Lambda versions",
                "virtual",
                "detected in",
                "decided by",
                "metrics later",
                "transitions/tasks",
                "reason",
            ],
        ),
        file=out,
    )
    report(out, {"events": False, "scenarios": summaries, "live_version": live, "all_as_expected": not failures})
    print(f"\n{FUNCTION}:{ALIAS} ends on Lambda version {live}; wall time {time.monotonic() - started:.1f} s", file=out)
    if failures:
        print(f"{failures} outcome(s) not as expected", file=out)
        return 1
    print("every outcome as expected", file=out)
    return 0
