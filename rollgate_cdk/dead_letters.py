"""The dead-letter queue of an EventBridge rule's targets: encrypted, TLS only, kept two weeks."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct


def rule_dead_letters(scope: Construct, *, of: str) -> sqs.Queue:
    """`scope`/DeadLetters: where events that `of` (the rules, in words) could not deliver land."""
    queue = sqs.Queue(
        scope,
        "DeadLetters",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    NagSuppressions.add_resource_suppressions(
        queue,
        [NagPackSuppression(id="AwsSolutions-SQS3", reason=f"This queue is itself the dead-letter queue of {of}.")],
    )
    return queue
