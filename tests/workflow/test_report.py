"""`rollgate report`: a real deployment on the local runtime, drawn from its ledger record."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from rollgate_cli.main import run
from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def report(*argv: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["report", *argv, "--output", "json"], out=out, err=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def assert_a_real_picture(path: Path) -> None:
    picture = path.read_bytes()
    assert picture.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(picture[16:20], "big"), int.from_bytes(picture[20:24], "big")
    assert (width, height) == (1210, 935)  # 11 x 8.5 inches at 110 dpi
    assert len(picture) > 30_000  # three panels of lines, not an empty canvas


def test_a_rolled_back_canary_is_drawn_from_its_evidence(harness: Harness, tmp_path: Path) -> None:
    # given v3 (fails the orders with a coupon) rolled back from its 20% canary
    conclusion = harness.run(harness.request("v3"), "report-bad")
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    record = harness.ledger()[0]
    # when the report is made for it
    png = tmp_path / "bad.png"
    code, document, err = report(
        record["deployment_id"], "--function", "orders-api", "--alias", "live", "--out", str(png)
    )
    # then the picture and its data are written, and the data is what the ledger says
    assert code == 0, err
    data = document["report"]
    assert document["png"] == str(png) and Path(document["json"]) == png.with_suffix(".json")
    assert json.loads(png.with_suffix(".json").read_text()) == data
    assert_a_real_picture(png)
    assert (data["status"], data["from_version"], data["to_version"]) == ("ROLLED_BACK", "1", "2")
    assert data["period_seconds"] == 60
    # per period, both versions side by side behind the alias: the canary fails far more
    judged = [p for p in data["periods"] if p["new"]["error_rate"] is not None and p["previous"]["invocations"]]
    assert judged, data["periods"]
    assert all((p["new"]["version"], p["previous"]["version"]) == ("2", "1") for p in data["periods"])
    assert max(p["new"]["error_rate"] for p in judged) > 0.1
    assert all(p["previous"]["error_rate"] < 0.01 for p in judged)
    assert all(p["new"]["p95_ms"] is not None for p in judged)
    # each verdict, the last one the UNHEALTHY that rolled it back, with its sentence: a log poll's,
    # on v2's new error signature, seconds after the coupon orders failed
    verdicts = data["verdicts"]
    assert verdicts[-1]["outcome"] == "UNHEALTHY" and verdicts[-1]["weight"] == 20
    assert verdicts[-1]["summary"] and verdicts[-1]["decided_by"] == "logs"
    # the weights: 20% from the first traffic, 0% from the moment of the rollback
    assert data["weights"][0] == {"at": data["canary_started_at"], "weight": 20}
    assert data["weights"][-1] == {"at": data["rolled_back_at"], "weight": 0}
    assert data["promoted_at"] is None
    assert data["time_to_detect_seconds"] == record["time_to_detect_seconds"]


def progress_queue(harness: Harness) -> str:
    """A queue that gets every progress event put on the Rollgate bus."""
    sqs, events = harness.client("sqs"), harness.client("events")
    url = sqs.create_queue(QueueName="rollgate-progress")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = harness.outputs["EventBusName"]
    events.put_rule(Name="progress", EventBusName=bus, EventPattern=json.dumps({"source": ["rollgate.progress"]}))
    events.put_targets(Rule="progress", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def progress_events(harness: Harness, url: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    while batch := harness.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"]) for m in batch]
        harness.client("sqs").delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return sorted(received, key=lambda e: e["detail"]["at"])


def test_a_promoted_release_is_found_from_its_id_alone(harness: Harness, tmp_path: Path) -> None:
    # given v2 promoted after a 20% canary and a watch against a 5% holdback
    progress = progress_queue(harness)
    body = harness.request(
        "v2",
        strategy={"type": "canary", "steps": [20], "interval_seconds": 300},
        health={"metric_period_seconds": 60, "on_inconclusive": "extend", "max_extension_seconds": 300},
    )
    conclusion = harness.run(body, "report-good")
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    deployment_id = harness.ledger()[0]["deployment_id"]
    # when the report is asked for by deployment id only (function and alias from its execution)
    png = tmp_path / "good.png"
    code, document, err = report(deployment_id, "--out", str(png))
    # then the canary, the promotion and the watch are all there
    assert code == 0, err
    data = document["report"]
    assert_a_real_picture(png)
    assert (data["function_name"], data["alias"], data["status"]) == ("orders-api", "live", "PROMOTED")
    assert {p["phase"] for p in data["periods"]} == {"canary", "watch"}
    assert [w["weight"] for w in data["weights"]] == [20, 95, 100]
    assert data["weights"][1]["at"] == data["promoted_at"] is not None
    assert data["rolled_back_at"] is None
    assert {v["phase"] for v in data["verdicts"]} == {"canary", "watch"}
    assert data["verdicts"][-1]["outcome"] == "HEALTHY"
    # and the rollout was announced live on the bus: each move and each verdict, as drawn
    announced = progress_events(harness, progress)
    assert {e["detail-type"] for e in announced} == {"Deployment Step Changed"}
    moves = [(e["detail"]["step"], e["detail"]["weight"]) for e in announced if e["detail"]["step"] != "judge"]
    assert moves == [("shift", 20), ("promote", 95), ("complete", 100)]
    judged = [(e["detail"]["verdict"], e["detail"]["weight"]) for e in announced if e["detail"]["step"] == "judge"]
    assert judged == [(v["outcome"], v["weight"]) for v in data["verdicts"]]


def test_a_deployment_rejected_before_any_traffic_still_gets_its_picture(harness: Harness, tmp_path: Path) -> None:
    # given v4 rejected at preflight (it needs PAYMENTS_URL): nothing judged, no traffic moved
    conclusion = harness.run(harness.request("v4", required_environment=["PAYMENTS_URL"]), "report-rejected")
    assert conclusion.outcome == "REJECTED", conclusion.reason()
    png = tmp_path / "rejected.png"
    code, document, err = report(harness.ledger()[0]["deployment_id"], "--function", "orders-api", "--out", str(png))
    # then the picture says so and the data is empty where nothing happened
    assert code == 0, err
    data = document["report"]
    assert (data["status"], data["periods"], data["verdicts"], data["weights"]) == ("REJECTED", [], [], [])
    assert "PAYMENTS_URL" in data["reason"]
    assert png.read_bytes().startswith(PNG_SIGNATURE)


def test_an_unknown_deployment_is_bad_input(harness: Harness, tmp_path: Path) -> None:
    code, document, _ = report("20261202T000000Z-nothing", "--function", "orders-api", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "no deployment" in document["error"]["message"]
    assert not (tmp_path / "x.png").exists()


def test_a_malformed_deployment_id_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    code, document, err = report("not an id", "--out", str(tmp_path / "x.png"))
    assert code == 2 and document["error"]["name"] == "UsageError"
    assert "is not a deployment id" in err
