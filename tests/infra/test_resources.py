"""Ledger, artifacts bucket, event bus and the stack outputs the CLI and local runtime read."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match


def test_ledger_table_keys_ttl_index_and_recovery(synthesized: Any) -> None:
    synthesized.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": Match.array_with(
                    [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                        {"AttributeName": "gsi1pk", "AttributeType": "S"},
                        {"AttributeName": "gsi1sk", "AttributeType": "S"},
                    ]
                ),
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                "SSESpecification": {"SSEEnabled": True},
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": "by_function",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            },
        },
    )


def test_artifacts_bucket_versioned_encrypted_private_logged(synthesized: Any) -> None:
    synthesized.template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": Match.string_like_regexp("^ArtifactsAccessLogs")},
                        "LogFilePrefix": "artifacts/",
                    },
                }
            ),
        },
    )


def test_both_buckets_refuse_plain_http(synthesized: Any) -> None:
    policies = synthesized.resources("AWS::S3::BucketPolicy").values()
    protected = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if (
                statement["Effect"] == "Deny"
                and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
                and statement["Action"] == "s3:*"
            ):
                protected.add(policy["Properties"]["Bucket"]["Ref"])
    assert protected == set(synthesized.resources("AWS::S3::Bucket"))


def test_rollgate_event_bus(synthesized: Any) -> None:
    synthesized.template.resource_count_is("AWS::Events::EventBus", 1)


def test_outputs_for_the_cli_and_the_local_runtime(synthesized: Any) -> None:
    outputs = synthesized.json["Outputs"]
    assert set(outputs) == {
        "DeployStateMachineArn",
        "ReleaseStateMachineArn",
        "RemediateStateMachineArn",
        "NotificationsTopicArn",
        "WebhookUrl",
        "LedgerTableName",
        "ArtifactBucketName",
        "EventBusName",
        "ControlFunctionName",
    }
    assert outputs["DeployStateMachineArn"]["Value"]["Ref"].startswith("DeployStateMachine")
    assert outputs["LedgerTableName"]["Value"]["Ref"].startswith("LedgerTable")
    assert outputs["ArtifactBucketName"]["Value"]["Ref"].startswith("ArtifactsBucket")
    assert outputs["EventBusName"]["Value"]["Ref"].startswith("EventsBus")
    for output_id, output in outputs.items():
        assert output["Export"]["Name"] == f"Rollgate-{output_id}"
