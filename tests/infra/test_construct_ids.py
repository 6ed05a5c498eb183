"""The Rollgate stack holds the Rollgate construct without renaming what a deployed stack has: the
construct's id ("Default") is left out of logical ids, so an update keeps the table, the buckets,
the state machines and the rest in place instead of replacing them."""

from __future__ import annotations

from typing import Any

from rollgate_cdk.construct import Rollgate
from rollgate_cdk.stack import CONSTRUCT_ID

#: The stateful resources' logical ids, as the stack had them before the construct existed.
DEPLOYED = {
    "LedgerTable9343E4AA": "AWS::DynamoDB::Table",
    "ArtifactsBucket88671897": "AWS::S3::Bucket",
    "ArtifactsAccessLogs4D97777C": "AWS::S3::Bucket",
    "EventsBus45DE4339": "AWS::Events::EventBus",
    "DeployStateMachineC7EB885F": "AWS::StepFunctions::StateMachine",
    "ReleaseStateMachine5C3CB62B": "AWS::StepFunctions::StateMachine",
    "RemediateStateMachine7E7BC9BB": "AWS::StepFunctions::StateMachine",
    "ReconcilerDeadLetters815BDDA5": "AWS::SQS::Queue",
    "TriggersDeadLetters74EF38FB": "AWS::SQS::Queue",
    "TriggersNotificationsKey3D0754AA": "AWS::KMS::Key",
    "TriggersNotificationsC2FF4053": "AWS::SNS::Topic",
    "WebhookSecret11F7963D": "AWS::SecretsManager::Secret",
}


def test_the_stack_is_one_rollgate_construct(synthesized: Any) -> None:
    stack = synthesized.stack
    assert isinstance(stack.rollgate, Rollgate) and stack.rollgate.node.id == CONSTRUCT_ID
    assert stack.deploy is stack.rollgate.deploy


def test_the_stateful_resources_keep_their_logical_ids(synthesized: Any) -> None:
    resources = synthesized.json["Resources"]
    assert {logical_id: resources.get(logical_id, {}).get("Type") for logical_id in DEPLOYED} == DEPLOYED
    # and nothing is named after the construct
    assert not [logical_id for logical_id in resources if logical_id.startswith(CONSTRUCT_ID)]
