"""DLQ redrive after a fixing release, on the local runtime: a queue consumer whose v1 fails the
orders of a coupon campaign (SPRING20) has left them in its source queue's DLQ; a release that asks
for `redrive.after_fix` moves them back once the fix is promoted and watched. The fix drains the
DLQ (REDRIVE_COMPLETED); a "fix" that still fails them gets its move stopped part way
(REDRIVE_STOPPED), the release staying promoted, the finding in the record and on the bus."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rollgate.aws.ledger import DynamoLedger
from rollgate_cli.main import run
from rollgate_cli.progress import Conclusion, ExecutionWatcher
from rollgate_local.runtime import LocalRuntime

pytestmark = pytest.mark.workflow

FUNCTION, ALIAS = "orders-consumer", "live"
CAMPAIGN = "SPRING20"

_CONSUMER = '''"""orders-consumer {build}: prices the orders an SQS queue delivers."""

import json

BUILD = "{build}"
COUPONS = {coupons}


def SIMULATED_LATENCY_MS(event):
    return 30.0


def handler(event, context):
    for record in event["Records"]:
        order = json.loads(record["body"])
        coupon = order.get("coupon")
        if coupon and coupon not in COUPONS:
            raise KeyError(f"unknown coupon {{coupon}}")
    return {{"ok": True, "processed": len(event["Records"]), "build": BUILD}}
'''
_BUILDS = {
    "v1": '{"SAVE10": 0.1}',  # fails every SPRING20 order
    "v2": '{"SAVE10": 0.1, "SPRING20": 0.2}',  # the fix
    "v2-still-broken": '{"SAVE10": 0.1, "WELCOME5": 0.05}',  # a "fix" for another coupon
}


def _zip(build: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("app.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, _CONSUMER.format(build=build, coupons=_BUILDS[build]))
    return buffer.getvalue()


def _order(n: int, coupon: str | None = None) -> str:
    return json.dumps({"order_id": f"o-{n}", "items": [{"sku": "sku-apple", "qty": 1}], "coupon": coupon})


class QueueTraffic:
    """Orders sent to the source queue at an exact rate in virtual time (a timeline of the runtime's
    clock, as rollgate_local.traffic is for invocations): each sending delivers it to the consumer."""

    def __init__(self, runtime: LocalRuntime, queue_url: str, rate_per_second: float) -> None:
        self._sqs = runtime.client("sqs")
        self._clock = runtime.clock
        self._url = queue_url
        self._rate = rate_per_second
        self._origin = self._clock.timestamp()
        self._sent = 0

    def next_instant(self) -> float | None:
        return self._origin + (self._sent + 1) / self._rate

    def fire(self, instant: float) -> None:
        due = self.next_instant()
        if due is not None and due <= instant:
            self._sent += 1
            coupon = "SAVE10" if self._sent % 4 == 0 else None  # live traffic: no campaign orders any more
            self._sqs.send_message(QueueUrl=self._url, MessageBody=_order(self._sent, coupon))


@dataclass
class Consumer:
    runtime: LocalRuntime
    outputs: dict[str, str]
    source_url: str
    dlq_url: str
    events_url: str

    def depth(self, url: str) -> int:
        attributes = self.runtime.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def release(self, build: str, name: str, **redrive: Any) -> Conclusion:
        bucket = self.outputs["ArtifactBucketName"]
        key = f"builds/{FUNCTION}-{build}.zip"
        self.runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=_zip(build))
        body = {
            "function_name": FUNCTION,
            "alias": ALIAS,
            "artifact": {"bucket": bucket, "key": key},
            "strategy": {"type": "canary", "steps": [20], "interval_seconds": 180},
            "smoke_tests": [
                {
                    "name": "one-order",
                    "payload": {"Records": [{"body": _order(0)}]},
                    "expect_subset": {"ok": True},
                }
            ],
            "health": {
                "metric_period_seconds": 60,
                "canary_judge_seconds": 60,
                "on_inconclusive": "extend",
                "max_extension_seconds": 180,
            },
            "watch_seconds": 120,
            "redrive": {"after_fix": True, **redrive},
        }
        arn = self.runtime.client("stepfunctions").start_execution(
            stateMachineArn=self.outputs["DeployStateMachineArn"], name=name, input=json.dumps(body)
        )["executionArn"]
        watcher = ExecutionWatcher(
            self.runtime.client("stepfunctions"), arn, poll_seconds=5.0, sleep=self.runtime.clock.sleep, quiet=True
        )
        return watcher.wait()

    def record(self) -> dict[str, Any]:
        ledger = DynamoLedger(self.runtime.client("dynamodb"), self.outputs["LedgerTableName"], self.runtime.clock)
        return ledger.list_deployments(FUNCTION, ALIAS)[0].document()

    def events(self) -> list[dict[str, Any]]:
        sqs = self.runtime.client("sqs")
        found = []
        while messages := sqs.receive_message(QueueUrl=self.events_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_url, ReceiptHandle=message["ReceiptHandle"])
        return found


@contextmanager
def consumer(cdk_out: Path, *, dead_letters: int, seed: int = 5) -> Iterator[Consumer]:
    with LocalRuntime(seed=seed) as runtime:
        outputs = dict(runtime.deploy_stack(cdk_out))
        sqs, lambda_, iam = runtime.client("sqs"), runtime.client("lambda"), runtime.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName=f"{FUNCTION}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        dlq_url = sqs.create_queue(QueueName=f"{FUNCTION}-source-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
        source_url = sqs.create_queue(QueueName=f"{FUNCTION}-source", Attributes={"RedrivePolicy": policy})["QueueUrl"]
        source_arn = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        lambda_.create_function(
            FunctionName=FUNCTION,
            Role=role,
            Runtime="python3.12",
            Handler="app.handler",
            Code={"ZipFile": _zip("v1")},
            Timeout=10,
            Tags={"rollgate:managed": "true"},
        )
        version = lambda_.publish_version(FunctionName=FUNCTION)["Version"]
        lambda_.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)
        lambda_.create_event_source_mapping(EventSourceArn=source_arn, FunctionName=f"{FUNCTION}:{ALIAS}", BatchSize=1)
        # the campaign's orders v1 failed before: in the DLQ, where maxReceiveCount 1 sent them
        for n in range(dead_letters):
            sqs.send_message(QueueUrl=dlq_url, MessageBody=_order(10_000 + n, CAMPAIGN))
        events_url = sqs.create_queue(QueueName="rollgate-outcomes")["QueueUrl"]
        events_arn = sqs.get_queue_attributes(QueueUrl=events_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = runtime.client("events")
        events.put_rule(
            Name="outcomes", EventBusName=outputs["EventBusName"], EventPattern=json.dumps({"source": ["rollgate"]})
        )
        events.put_targets(
            Rule="outcomes", EventBusName=outputs["EventBusName"], Targets=[{"Id": "q", "Arn": events_arn}]
        )
        traffic = QueueTraffic(runtime, source_url, rate_per_second=5.0)
        runtime.clock.add_timeline(traffic)  # type: ignore[attr-defined]
        try:
            runtime.clock.sleep(120)  # two minutes of v1 consuming live orders
            yield Consumer(runtime, outputs, source_url, dlq_url, events_url)
        finally:
            runtime.clock.remove_timeline(traffic)  # type: ignore[attr-defined]


def test_a_promoted_fix_gets_its_dlq_redriven_and_drained(cdk_out: Path) -> None:
    with consumer(cdk_out, dead_letters=40) as app:
        assert app.depth(app.dlq_url) == 40
        conclusion = app.release("v2", "fix-1", max_messages_per_second=10, poll_interval_seconds=10)
        assert conclusion.outcome == "PROMOTED", conclusion.reason()
        record = app.record()
        (finding,) = [e for e in record["evidence"]["redrive"] if e["check"] == "redrive" and "redriven" in e["detail"]]
        assert finding["ok"] and "40 message(s) redriven and consumed" in finding["detail"]
        assert app.depth(app.dlq_url) == 0
        versions = app.runtime.client("lambda").get_alias(FunctionName=FUNCTION, Name=ALIAS)
        assert versions["FunctionVersion"] == "2" and not versions.get("RoutingConfig", {}).get(
            "AdditionalVersionWeights"
        )
        assert not [e for e in app.events() if e["detail-type"] == "Deployment Redrive Stopped"]


def test_a_fix_that_still_fails_the_dead_letters_has_its_move_stopped(cdk_out: Path) -> None:
    with consumer(cdk_out, dead_letters=120) as app:
        conclusion = app.release("v2-still-broken", "fix-2", max_messages_per_second=2, poll_interval_seconds=5)
        # the release stands: promoted, verified by its watch; the redrive is a finding
        assert conclusion.outcome == "PROMOTED", conclusion.reason()
        record = app.record()
        stopped = [e for e in record["evidence"]["redrive"] if not e["ok"]]
        assert stopped and "the redriven messages fail again" in stopped[0]["detail"]
        assert "move cancelled" in stopped[0]["detail"]
        # stopped part way: most of the dead letters never left the DLQ, the moved ones came back
        assert app.depth(app.dlq_url) >= 100
        (task,) = app.runtime.client("sqs").list_message_move_tasks(
            SourceArn=app.runtime.client("sqs").get_queue_attributes(QueueUrl=app.dlq_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
        )["Results"]
        assert task["Status"] == "CANCELLED" and task["ApproximateNumberOfMessagesMoved"] < 120
        (event,) = [e for e in app.events() if e["detail-type"] == "Deployment Redrive Stopped"]
        assert "is promoted, but its DLQ redrive was stopped" in event["detail"]["message"]


def _rollgate(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def test_rollgate_redrive_by_hand_stops_while_the_live_version_fails_and_drains_once_fixed(cdk_out: Path) -> None:
    with consumer(cdk_out, dead_letters=60) as app:
        # a dry run says what it would move and moves nothing
        code, out = _rollgate("redrive", FUNCTION, "--dry-run")
        assert code == 0 and "would move 60 message(s) at most 10/s" in out, out
        assert app.depth(app.dlq_url) == 60
        # v1 is live and fails the campaign's orders: the move is stopped, exit 1
        code, out = _rollgate("redrive", FUNCTION, "--rate", "2", "--poll-seconds", "5")
        assert code == 1 and "REDRIVE_STOPPED" in out and "move cancelled" in out, out
        app.runtime.clock.sleep(2)  # the last one moved fails, and is back at its next receive
        assert app.depth(app.dlq_url) == 60  # what was moved came back
        # the fix made live by hand: the same command drains the DLQ, exit 0
        lambda_ = app.runtime.client("lambda")
        lambda_.update_function_code(FunctionName=FUNCTION, ZipFile=_zip("v2"))
        app.runtime.clock.sleep(30)  # the update settles
        fixed = lambda_.publish_version(FunctionName=FUNCTION)["Version"]
        lambda_.update_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=fixed)
        app.runtime.clock.sleep(60)
        code, out = _rollgate("redrive", FUNCTION, "--rate", "20", "--poll-seconds", "5", "--output", "json")
        document = json.loads(out[: out.rindex("}") + 1])
        assert code == 0 and document["outcome"] == "REDRIVE_COMPLETED", out
        assert document["moved"] == 60 and app.depth(app.dlq_url) == 0
