"""The deployer: a template with the shape of the synthesized stack, deployed into the local runtime."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from rollgate_local.deployer import deploy_stack, deploy_template, synthesize
from rollgate_local.runtime import LocalRuntime
from tests.local.conftest import FIXTURE_STACK


def test_fixture_stack_deploys_and_its_state_machine_runs(runtime: LocalRuntime) -> None:
    # given the fixture cdk.out (a Lambda from an asset folder, a table, a bucket, a bus, a state machine)
    outputs = runtime.deploy_stack(FIXTURE_STACK)
    # then the outputs are resolved
    assert set(outputs) >= {"DeployStateMachineArn", "LedgerTableName", "ArtifactBucketName", "EventBusName"}
    assert outputs.EventBusName == "RollgateEventsBus052B4DD5"
    assert outputs["RegionalNote"] == f"{outputs.ArtifactBucketName} in us-east-1 (${{Literal}})"
    assert outputs["TopicName"].startswith("Rollgate-Notifications5A6B7C8D-")
    # and the resources exist as the template declares them
    table = runtime.client("dynamodb").describe_table(TableName=outputs.LedgerTableName)["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-status"]
    ttl = runtime.client("dynamodb").describe_time_to_live(TableName=outputs.LedgerTableName)
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    s3 = runtime.client("s3")
    assert s3.get_bucket_versioning(Bucket=outputs.ArtifactBucketName)["Status"] == "Enabled"
    function = runtime.client("lambda").get_function_configuration(FunctionName=outputs["RecordFunctionArn"])
    assert function["Environment"]["Variables"]["LEDGER_TABLE"] == outputs.LedgerTableName
    assert function["Environment"]["Variables"]["REGION_HINT"] == "east"
    assert function["Handler"] == "fixture_tasks.record.lambda_handler"
    # what is not modelled is listed, not fatal
    skipped = " | ".join(outputs.skipped)
    for logical_id in (
        "ArtifactsBucketPolicyBC103148",
        "PowertoolsLayerA1B2C3D4",
        "CustomResourceProvider",
        "OtherRegionOnly",
    ):
        assert logical_id in skipped
    assert "CDKMetadata" not in outputs.physical_ids or "CDKMetadata" in skipped
    # the stack can be found by name, like on AWS
    (stack,) = runtime.client("cloudformation").describe_stacks(StackName="Rollgate")["Stacks"]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["LedgerTableName"] == outputs.LedgerTableName
    # when the state machine runs, its Lambda task (asset code, env from the template) writes to the table
    sfn = runtime.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=outputs.DeployStateMachineArn,
        input=json.dumps({"function_name": "orders-api", "release_id": "r1"}),
    )
    described = runtime.wait_for_execution(execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["table"] == outputs.LedgerTableName
    item = runtime.client("dynamodb").get_item(
        TableName=outputs.LedgerTableName, Key={"pk": {"S": "deployment#orders-api"}, "sk": {"S": "r1"}}
    )
    assert item["Item"]["by"]["S"] == function["FunctionName"]


def test_physical_names_are_deterministic_and_intrinsics_resolve(runtime: LocalRuntime) -> None:
    template = {
        "Conditions": {"East": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}}},
        "Outputs": {
            "Name": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}},
            "Where": {"Value": {"Fn::If": ["East", {"Fn::Sub": "${AWS::AccountId}/${Queue.Arn}"}, "elsewhere"]}},
            "Third": {"Value": {"Fn::Select": [2, {"Fn::Split": [":", {"Fn::GetAtt": ["Queue", "Arn"]}]}]}},
            "Encoded": {"Value": {"Fn::Base64": "hi"}},
        },
    }
    outputs = deploy_template(template, {}, runtime.client, stack_name="Names", register_stack=False)
    assert outputs["Name"] == "Names-Queue-" + outputs["Name"].rsplit("-", 1)[1]
    assert outputs["Where"] == f"123456789012/arn:aws:sqs:us-east-1:123456789012:{outputs['Name']}"
    assert outputs["Third"] == "sqs" and outputs["Encoded"] == "aGk="
    attributes = runtime.client("sqs").get_queue_attributes(
        QueueUrl=outputs.physical_ids["Queue"], AttributeNames=["VisibilityTimeout"]
    )
    assert attributes["Attributes"]["VisibilityTimeout"] == "60"


def test_synthesize_runs_infra_synth_once_until_sources_change(tmp_path: Path) -> None:
    # given a project whose rollgate_cdk.synth writes a template and counts its runs
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "handler.py").write_text("x = 1\n")
    (tmp_path / "rollgate_cdk").mkdir()
    (tmp_path / "rollgate_cdk" / "__init__.py").write_text("")
    (tmp_path / "rollgate_cdk" / "synth.py").write_text(
        textwrap.dedent("""
        import pathlib, sys
        out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
        (out / "Rollgate.template.json").write_text("{}")
        with open(out / "runs", "a") as runs:
            runs.write("run\\n")
    """)
    )
    outdir = tmp_path / "cdk.out"
    runs = outdir / "runs"
    # when synthesized twice, then once more after a source file changed
    synthesize(outdir, repo_root=tmp_path)
    synthesize(outdir, repo_root=tmp_path)
    assert runs.read_text().count("run") == 1
    source = tmp_path / "functions" / "handler.py"
    later = source.stat().st_mtime + 5  # a change, dated from the file itself, not the wall clock
    os.utime(source, (later, later))
    template = synthesize(outdir, repo_root=tmp_path)
    # then only the first and the changed one ran the synth
    assert runs.read_text().count("run") == 2 and template == outdir / "Rollgate.template.json"


def test_synthesize_reports_a_failing_synth(tmp_path: Path) -> None:
    (tmp_path / "rollgate_cdk").mkdir()
    (tmp_path / "rollgate_cdk" / "__init__.py").write_text("")
    (tmp_path / "rollgate_cdk" / "synth.py").write_text("raise SystemExit('cdk-nag found 2 errors')\n")
    with pytest.raises(RuntimeError, match="cdk-nag found 2 errors"):
        synthesize(tmp_path / "out", repo_root=tmp_path)


def test_an_image_function_runs_its_docker_image_asset(runtime: LocalRuntime, tmp_path: Path) -> None:
    # given a cdk.out whose function is a Docker image asset (build context with a Dockerfile)
    context = tmp_path / "asset.abc123"
    context.mkdir()
    (context / "Dockerfile").write_text('FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py .\nCMD ["app.handler"]\n')
    (context / "app.py").write_text("def handler(event, context):\n    return {'from': 'image', 'got': event}\n")
    manifest = {
        "dockerImages": {
            "abc123": {
                "source": {"directory": "asset.abc123"},
                "destinations": {"current": {"repositoryName": "cdk-assets", "imageTag": "abc123"}},
            }
        }
    }
    (tmp_path / "Images.assets.json").write_text(json.dumps(manifest))
    role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "PackageType": "Image",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {
                "ImageUri": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/cdk-assets:abc123"}
            },
        },
    }
    template = {
        "Resources": {"Role": role, "Fn": function},
        "Outputs": {"FunctionName": {"Value": {"Ref": "Fn"}}},
    }
    (tmp_path / "Images.template.json").write_text(json.dumps(template))
    # when it is deployed
    outputs = deploy_stack(tmp_path, runtime.client, stack_name="Images", register_stack=False)
    # then it is an image function by digest, and invoking it runs the asset's code with the Dockerfile's CMD
    code = runtime.client("lambda").get_function(FunctionName=outputs["FunctionName"])["Code"]
    assert code["RepositoryType"] == "ECR" and "@sha256:" in code["ImageUri"]
    assert runtime.data_plane.invoke(outputs["FunctionName"], None, {"n": 1}).json() == {
        "from": "image",
        "got": {"n": 1},
    }
