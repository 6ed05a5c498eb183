"""`rollgate demo --output json`: the summary document, and headers that tell a build (v2-v5) from
the Lambda version it is published as; the local runtime replaced by a scripted one."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollgate_cli import main as cli_main
from tests.unit.cli_fakes import DEPLOY_MACHINE, HistoryBuilder, ScriptedStepFunctions

#: build -> (outcome, from_version, to_version): v5 is rejected after v4 took a version number
OUTCOMES = {
    "v2": ("PROMOTED", "1", "2"),
    "v3": ("ROLLED_BACK", "2", "3"),
    "v4": ("REJECTED", None, None),
    "v5": ("REJECTED", "2", "4"),
}


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 1, tzinfo=UTC)

    def describe(self) -> str:
        return "virtual clock"

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return self.at


class DemoStepFunctions(ScriptedStepFunctions):
    def __init__(self) -> None:
        super().__init__()
        self.published = ["$LATEST", "1"]

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        build = name.removeprefix("demo-")
        status, before, after = OUTCOMES[build]
        arn = f"{stateMachineArn.replace(':stateMachine:', ':execution:')}:{name}"
        result: dict[str, Any] = {
            "status": status,
            "reason": f"build {build} {status}",
            "from_version": before,
            "to_version": after,
        }
        if build == "v3":  # caught on its logs 45 s after its first canary traffic
            result.update(decided_by="logs", time_to_detect_seconds=45.0)
        self.add(arn, HistoryBuilder().task("Record", {"result": result}))
        self.published += [after] if after and after not in self.published else []
        return {"executionArn": arn}


class DataPlane:
    def set_metric_delay(self, low_seconds: float, high_seconds: float | None = None) -> None:
        self.metric_delay = (low_seconds, high_seconds)


class ScriptedRuntime:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.clock = Clock()
        self.sfn = DemoStepFunctions()
        self.data_plane = DataPlane()

    def __enter__(self) -> ScriptedRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def deploy_stack(self, cdk_out: Any) -> dict[str, str]:
        return {"ArtifactBucketName": "artifacts", "DeployStateMachineArn": DEPLOY_MACHINE}

    def sample_app(self, **kwargs: Any) -> None:
        return None

    def traffic(self, **kwargs: Any) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def client(self, service: str) -> Any:
        if service == "stepfunctions":
            return self.sfn
        published = self.sfn.published

        class Client:
            def put_object(self, **kwargs: Any) -> dict[str, Any]:
                return {}

            def get_alias(self, **kwargs: Any) -> dict[str, Any]:
                return {"FunctionVersion": "2"}

            def list_versions_by_function(self, **kwargs: Any) -> dict[str, Any]:
                return {"Versions": [{"Version": v} for v in published]}

            def get_metric_data(self, MetricDataQueries: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
                version = MetricDataQueries[0]["MetricStat"]["Metric"]["Dimensions"][2]["Value"]
                values = {"errors": [3.0, 2.0], "invocations": [20.0, 10.0]} if version == "3" else {}
                return {
                    "MetricDataResults": [{"Id": q["Id"], "Values": values.get(q["Id"], [])} for q in MetricDataQueries]
                }

        return Client()


@pytest.fixture(autouse=True)
def scripted_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    import rollgate_local.deployer
    import rollgate_local.runtime

    monkeypatch.setattr(rollgate_local.runtime, "LocalRuntime", ScriptedRuntime)
    monkeypatch.setattr(rollgate_local.deployer, "synthesize", lambda path, **kwargs: None)


def test_the_demo_summary_is_one_document() -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main.run(["demo", "--output", "json"], out=out, err=err)
    document = json.loads(out.getvalue())
    assert code == 0 and document["exit_code"] == 0 and document["command"] == "demo"
    assert document["events"] is False and document["all_as_expected"] is True and document["live_version"] == "2"
    assert [(s["build"], s["outcome"], s["as_expected"]) for s in document["scenarios"]] == [
        ("v2", "PROMOTED", True),
        ("v3", "ROLLED_BACK", True),
        ("v4", "REJECTED", True),
        ("v5", "REJECTED", True),
    ]
    v3 = document["scenarios"][1]
    assert (v3["decided_by"], v3["time_to_detect_seconds"]) == ("logs", 45.0)
    assert v3["metrics_later"] == {"errors": 5, "invocations": 30}
    v5 = document["scenarios"][3]
    assert (v5["from_version"], v5["to_version"], v5["reason"]) == ("2", "4", "build v5 REJECTED")
    assert v5["execution_arn"].endswith(":execution:Deploy:demo-v5")
    assert "==> build v5" in err.getvalue()  # the people's lines went to stderr


def test_the_demo_headers_say_build_and_the_table_lambda_version() -> None:
    out = io.StringIO()
    assert cli_main.run(["demo"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    # build v5 comes after v4 took no number (rejected before publishing) and v3's number 3
    assert "==> build v5: crashes at import (expect REJECTED); Lambda version 4 if it is published" in text
    assert "==> build v2: a good build (expect PROMOTED); Lambda version 2 if it is published" in text
    assert "==> release v5" not in text
    assert "Lambda numbers the versions it publishes" in text
    header = next(line for line in text.splitlines() if line.startswith("build "))
    assert "Lambda versions" in header and "detected in" in header and "decided by" in header
    v3_row = next(line for line in text.splitlines() if line.startswith("v3 "))
    assert "45 s" in v3_row and "logs" in v3_row and "errors 5/30" in v3_row
    assert "ends on Lambda version 2" in text
