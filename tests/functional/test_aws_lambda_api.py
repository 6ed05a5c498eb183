"""Boto3LambdaApi against moto's Lambda (and botocore's Stubber where moto is silent)."""

from __future__ import annotations

import io
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from rollgate.aws.artifacts import S3ArtifactStore, code_sha256, upload_artifact
from rollgate.aws.lambda_api import Boto3LambdaApi, bare_function_name
from rollgate.domain.errors import NotFoundError

NEW_CODE = """
def handler(event, context):
    return {"version": "new"}
"""


@pytest.fixture
def api(lambda_client) -> Boto3LambdaApi:
    return Boto3LambdaApi(lambda_client)


def test_get_config_reads_what_the_gates_need(api, make_function):
    name = make_function(environment={"TABLE": "orders"})

    config = api.get_config(name)

    assert config.name == name
    assert config.arn.endswith(f":function:{name}")
    assert config.version == "$LATEST"
    assert config.code_sha256
    assert config.environment == {"TABLE": "orders"}
    assert config.state == "Active"
    assert config.last_update_status == "Successful"
    assert config.role.endswith("rollgate-test-function-role")
    assert config.package_type == "Zip"
    assert config.dead_letter_target_arn is None


def test_get_config_of_a_missing_function_is_not_found(api, aws):
    with pytest.raises(NotFoundError, match="lambda:GetFunctionConfiguration nope"):
        api.get_config("nope")


def test_get_alias_of_a_missing_alias_is_not_found(api, make_function):
    name = make_function()

    with pytest.raises(NotFoundError, match=f"lambda:GetAlias {name}:live"):
        api.get_alias(name, "live")


def test_update_code_from_s3_then_publish_with_the_sha_guard(api, make_function, make_zip, s3_client,
                                                            artifact_bucket):
    # given a function on version 1 and a new zip uploaded to the versioned artifact bucket
    name = make_function(publish=True)
    zip_bytes = make_zip(NEW_CODE)
    object_version, sha = upload_artifact(s3_client, artifact_bucket, "orders/2.zip", zip_bytes)
    before = api.get_config(name)

    # when the code is updated from the pinned object version
    updated = api.update_code(name, bucket=artifact_bucket, key="orders/2.zip", object_version=object_version,
                              image_uri=None, revision_id=before.revision_id)

    # then Lambda reports the code sha the artifact store computed for the object
    assert updated.code_sha256 == sha
    assert S3ArtifactStore(s3_client).inspect(artifact_bucket, "orders/2.zip", object_version).code_sha256 == sha

    # and publishing with that sha yields a version whose code is the artifact
    published = api.publish_version(name, code_sha256=sha, revision_id=updated.revision_id,
                                    description="release 2")
    assert published.version == "2"
    assert published.code_sha256 == sha
    assert api.get_config(name, "2").code_sha256 == sha
    # moto ignores the CodeSha256 and RevisionId guards of PublishVersion (a wrong sha publishes
    # anyway), so the refusal path is asserted with a stub in test_publish_version_sends_the_guards


def test_publish_version_sends_the_guards(lambda_client, api):
    with Stubber(lambda_client) as stub:
        stub.add_client_error(
            "publish_version",
            service_error_code="PreconditionFailedException",
            service_message="CodeSha256 does not match",
            http_status_code=412,
            expected_params={"FunctionName": "orders", "CodeSha256": "abc=", "RevisionId": "rev-1",
                             "Description": "release 7"},
        )
        with pytest.raises(Exception, match="PublishVersion orders failed: PreconditionFailedException") as raised:
            api.publish_version("orders", code_sha256="abc=", revision_id="rev-1", description="release 7")
        stub.assert_no_pending_responses()
    assert type(raised.value).__name__ == "ConflictError"


def test_update_code_sends_revision_and_object_version(lambda_client, api):
    response = {"FunctionName": "orders", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                "Version": "$LATEST", "CodeSha256": "sha=", "RevisionId": "rev-2", "State": "Active",
                "LastUpdateStatus": "InProgress", "Role": "arn:aws:iam::123456789012:role/r"}
    with Stubber(lambda_client) as stub:
        stub.add_response("update_function_code", response, expected_params={
            "FunctionName": "orders", "Publish": False, "RevisionId": "rev-1",
            "S3Bucket": "artifacts", "S3Key": "k.zip", "S3ObjectVersion": "v1"})
        config = api.update_code("orders", bucket="artifacts", key="k.zip", object_version="v1", image_uri=None,
                                 revision_id="rev-1")
    assert config.last_update_status == "InProgress"
    assert config.revision_id == "rev-2"


def test_update_code_from_an_image(lambda_client, api):
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "a" * 64
    response = {"FunctionName": "orders", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                "Version": "$LATEST", "CodeSha256": "a" * 64, "RevisionId": "rev-2", "PackageType": "Image"}
    with Stubber(lambda_client) as stub:
        stub.add_response("update_function_code", response, expected_params={
            "FunctionName": "orders", "Publish": False, "RevisionId": "rev-1", "ImageUri": image})
        config = api.update_code("orders", bucket=None, key=None, object_version=None, image_uri=image,
                                 revision_id="rev-1")
    assert config.package_type == "Image"
    assert config.image_uri == image


def test_update_environment_sets_exactly_the_given_variables(api, make_function):
    name = make_function(environment={"OLD": "1", "KEEP": "2"})
    revision = api.get_config(name).revision_id

    updated = api.update_environment(name, {"KEEP": "2", "NEW": "3"}, revision)

    assert updated.environment == {"KEEP": "2", "NEW": "3"}
    assert api.get_config(name).environment == {"KEEP": "2", "NEW": "3"}


def test_list_versions_excludes_latest(api, make_function, lambda_client):
    name = make_function(publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Description="two")
    lambda_client.publish_version(FunctionName=name)

    versions = api.list_versions(name)

    assert [v.version for v in versions] == ["1", "2"]


def test_update_alias_with_weights_then_cleared(api, make_function, lambda_client):
    # given version 1 live behind the alias and version 2 published
    name = make_function(publish=True)
    lambda_client.update_function_configuration(FunctionName=name, Description="v2")
    lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    alias = api.get_alias(name, "live")
    assert alias.weight_of("1") == 1.0

    # when 10% is shifted to version 2
    shifted = api.update_alias(name, "live", version="1", additional_weights={"2": 0.1},
                               revision_id=alias.revision_id)

    # then the alias reads back with the canary weight
    read_back = api.get_alias(name, "live")
    assert shifted.additional_weights == {"2": 0.1}
    assert read_back.version == "1"
    assert read_back.weight_of("2") == pytest.approx(0.1)
    assert read_back.weight_of("1") == pytest.approx(0.9)

    # when promoted, with the weights cleared
    api.update_alias(name, "live", version="2", additional_weights={}, revision_id=read_back.revision_id)

    # then all traffic is on version 2
    promoted = api.get_alias(name, "live")
    assert promoted.version == "2"
    assert promoted.additional_weights == {}
    assert promoted.weight_of("2") == 1.0
    assert promoted.weight_of("1") == 0.0


def test_invoke_returns_the_parsed_payload(api, make_function):
    # moto's docker-free Lambda echoes the request payload back
    name = make_function(publish=True)

    invocation = api.invoke(name, "1", {"order": 42})

    assert invocation.status_code == 200
    assert invocation.function_error is None
    assert invocation.payload == {"order": 42}


def test_invoke_asynchronously(api, make_function, lambda_client):
    name = make_function()
    with Stubber(lambda_client) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, expected_params={
            "FunctionName": name, "InvocationType": "Event", "Qualifier": "live", "Payload": ANY})
        invocation = api.invoke(name, "live", {"order": 42}, asynchronous=True)

    assert invocation.status_code == 202


def test_invoke_reports_function_error_and_executed_version(lambda_client, api):
    body = json.dumps({"errorMessage": "boom", "errorType": "ValueError"}).encode()
    with Stubber(lambda_client) as stub:
        stub.add_response("invoke", {
            "StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "7",
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
        })
        invocation = api.invoke("orders", "live", {"x": 1})

    assert invocation.function_error == "Unhandled"
    assert invocation.executed_version == "7"
    assert invocation.payload == {"errorMessage": "boom", "errorType": "ValueError"}


def test_invoke_keeps_a_non_json_payload_as_text(lambda_client, api):
    with Stubber(lambda_client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(b"plain"), 5)})
        assert api.invoke("orders", None, None).payload == "plain"


def test_event_source_mappings_on_any_qualifier_of_the_function(api, make_function, lambda_client, sqs_client):
    # given a queue mapped to the function's alias, and another function's mapping
    name = make_function(publish=True)
    other = make_function()
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    queue_arns = []
    for queue in ("orders-in", "other-in"):
        url = sqs_client.create_queue(QueueName=queue)["QueueUrl"]
        queue_arns.append(sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
                          ["Attributes"]["QueueArn"])
    mapping = lambda_client.create_event_source_mapping(EventSourceArn=queue_arns[0], FunctionName=f"{name}:live")
    lambda_client.create_event_source_mapping(EventSourceArn=queue_arns[1], FunctionName=other)

    mappings = api.list_event_source_mappings(name)

    # then only the function's own mapping is listed (moto resolves the alias to its version in
    # FunctionArn; AWS keeps the alias ARN)
    assert [m.uuid for m in mappings] == [mapping["UUID"]]
    assert mappings[0].source_arn == queue_arns[0]
    assert bare_function_name(mappings[0].function_arn) == name
    assert mappings[0].state


def test_provisioned_concurrency_is_empty_where_moto_does_not_implement_it(api, make_function):
    assert api.provisioned_concurrency_versions(make_function()) == []


def test_provisioned_concurrency_versions_lists_qualifiers(lambda_client, api):
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    with Stubber(lambda_client) as stub:
        stub.add_response("list_provisioned_concurrency_configs", {
            "ProvisionedConcurrencyConfigs": [{"FunctionArn": f"{arn}:live"}], "NextMarker": "m"})
        stub.add_response("list_provisioned_concurrency_configs", {
            "ProvisionedConcurrencyConfigs": [{"FunctionArn": f"{arn}:3"}]})
        assert api.provisioned_concurrency_versions("orders") == ["live", "3"]


def test_bare_function_name():
    assert bare_function_name("orders") == "orders"
    assert bare_function_name("orders:live") == "orders"
    assert bare_function_name("arn:aws:lambda:us-east-1:123456789012:function:orders") == "orders"
    assert bare_function_name("arn:aws:lambda:us-east-1:123456789012:function:orders:7") == "orders"


def test_lambda_reports_the_sha_of_the_zip_it_was_created_from(make_function, make_zip, api):
    name = make_function(NEW_CODE)

    assert api.get_config(name).code_sha256 == code_sha256(make_zip(NEW_CODE))
