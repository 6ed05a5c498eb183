"""The example app (examples/orders_app: a team's own CDK app with the Rollgate construct and its
orders-api function managed by it), deployed whole on the local runtime, runs the demo's good
release from an input that names only the function and its build: the alias, strategy, smoke
tests and health policy are the ones declared next to the function in the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollgate_local.deployer import deploy_stack
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import build_zip, order_payload
from tests.infra.test_example_app import load_example
from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

FUNCTION, ALIAS = "orders-api", "live"


@pytest.fixture(scope="module")
def example_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    module = load_example()
    outdir = tmp_path_factory.mktemp("example-cdk.out")
    module.build_app(outdir=str(outdir)).synth()
    return outdir, module.STACK_NAME


@pytest.fixture
def example(example_out: tuple[Path, str]) -> Iterator[Harness]:
    outdir, stack_name = example_out
    with LocalRuntime(seed=11) as runtime:
        # the whole app: Rollgate and the team's function (tagged by manage(), its log group, its role)
        outputs = dict(
            deploy_stack(outdir, runtime.client, stack_name=stack_name, account=runtime.account, region=runtime.region)
        )
        lambda_ = runtime.client("lambda")
        # The local deployer models no AWS::Lambda::Version or Alias (CloudFormation would publish
        # version 1 and point `live` at it): done here, with the demo's v1 as that first build, so
        # the canary compares two builds of the demo
        lambda_.update_function_code(FunctionName=FUNCTION, ZipFile=build_zip("v1"))
        while lambda_.get_function_configuration(FunctionName=FUNCTION).get("LastUpdateStatus") == "InProgress":
            runtime.clock.sleep(1)
        version = lambda_.publish_version(FunctionName=FUNCTION)["Version"]
        lambda_.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)
        sqs, events = runtime.client("sqs"), runtime.client("events")
        queue_url = sqs.create_queue(QueueName="rollgate-outcomes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="outcomes", EventBusName=outputs["EventBusName"], EventPattern=json.dumps({"source": ["rollgate"]})
        )
        events.put_targets(
            Rule="outcomes", EventBusName=outputs["EventBusName"], Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        with runtime.traffic(function_name=FUNCTION, alias=ALIAS, rate_per_second=5.0, payload_factory=order_payload):
            runtime.clock.sleep(120)  # two minutes of v1 traffic before anything is released
            yield Harness(runtime, outputs, queue_url)


def test_the_good_release_needs_only_the_function_and_its_build(example: Harness) -> None:
    # given: the example app deployed, orders-api live on v1 under traffic
    assert example.client("lambda").list_tags(
        Resource=example.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    )["Tags"] == {"rollgate:managed": "true"}
    # when: v2 is released by an input naming the function and its build (and, to keep the run
    # short, a shorter watch and one judgement a period: the input's own fields)
    body = {
        "function_name": FUNCTION,
        "artifact": example.upload("v2"),
        "watch_seconds": 120,
        "health": {"canary_judge_seconds": 60, "on_inconclusive": "extend", "max_extension_seconds": 180},
    }
    conclusion = example.run(body, "good")
    # then: promoted through the gates the app declared for the function
    assert conclusion.execution_status == "SUCCEEDED" and conclusion.outcome == "PROMOTED", conclusion.reason()
    assert example.alias() == ("2", {})
    record = example.ledger()[0]
    assert record["status"] == "PROMOTED" and record["to_version"] == "2"
    ran = record["request"]
    assert ran["alias"] == ALIAS
    assert ran["strategy"] == {"type": "canary", "steps": [20], "interval_seconds": 180}
    assert [test["name"] for test in ran["smoke_tests"]] == ["place-order"]
    assert ran["health_policy"] == "strict" and ran["health"]["latency_ratio_limit"] == 1.15
    assert ran["watch_seconds"] == 120 and ran["health"]["canary_judge_seconds"] == 60
    assert {"preflight", "update", "publish", "smoke", "canary", "watch"} <= set(record["evidence"])
    # the declared smoke test ran on the new version before any traffic reached it
    assert [(e["check"], e["ok"]) for e in record["evidence"]["smoke"]] == [("smoke:place-order", True)]
    assert "Deployment Promoted" in [event["detail-type"] for event in example.events()]


def test_a_push_manifest_naming_only_the_function_and_its_build_releases_it(example: Harness) -> None:
    # given: a manifest as CI writes it for the app (its defaults only shorten the run)
    manifest = {
        "application": "orders",
        "release_id": "orders-2026.12.02",
        "defaults": {"watch_seconds": 60, "health": {"max_extension_seconds": 300}},
        "waves": [{"functions": [{"function_name": FUNCTION, "artifact": example.upload("v2")}]}],
    }
    # when
    conclusion = example.wait(example.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "push"))
    # then: released with the alias, strategy, smoke tests and policy declared in the app
    assert conclusion.execution_status == "SUCCEEDED", conclusion.result
    assert example.alias() == ("2", {})
    ran = example.ledger()[0]["request"]
    assert ran["strategy"]["steps"] == [20] and ran["smoke_tests"][0]["name"] == "place-order"
    assert ran["health_policy"] == "strict" and ran["health"]["latency_ratio_limit"] == 1.15
    assert ran["watch_seconds"] == 60  # the manifest's own default wins
