"""Triggers and notifications: the EventBridge rules that start Release and Remediate, and the SNS
topic that gets a readable line for every outcome.

    Rollgate bus   Release Branch Pushed (rollgate.github)  -> Dispatch -> Release
    Rollgate bus   Release Requested (any source)           -> Dispatch -> Release
    default bus    CodeCommit push to a release branch      -> Dispatch -> Release
    default bus    alarm named <guardAlarmPrefix>… to ALARM  -> Dispatch -> Remediate
    Rollgate bus   every outcome (source rollgate)          -> SNS topic, text of detail.message

The rules target the Dispatch function rather than the state machines because an EventBridge
target cannot name an execution, and the name is the dedupe (``rollgate.domain.shared.triggers``).
Events the dispatcher cannot take after its retries land in a dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from rollgate import contract
from rollgate_cdk.dead_letters import rule_dead_letters
from rollgate_cdk.settings import Settings
from rollgate_cdk.task_function import TaskFunction

_GLOB_CHARACTERS = frozenset("*?[")


def branch_filters(patterns: tuple[str, ...]) -> list[dict[str, str]]:
    """EventBridge content filters for fnmatch-style branch globs: `release/*` is a prefix filter,
    anything more involved a wildcard filter (the dispatcher re-checks the glob either way)."""
    filters = []
    for pattern in patterns:
        head = pattern[:-1]
        if pattern.endswith("*") and not _GLOB_CHARACTERS & set(head):
            filters.append({"prefix": head})
        else:
            filters.append({"wildcard": pattern})
    return filters


class Triggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        bus: events.IEventBus,
        bucket: s3.IBucket,
        release: sfn.IStateMachine,
        remediate: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dispatch = TaskFunction(
            self,
            "Dispatch",
            handler="rollgate.triggers.dispatch.lambda_handler",
            description="Rollgate: start Release / Remediate for a trigger event, named for dedupe",
            settings=settings,
            timeout=Duration.seconds(30),
            environment={
                contract.RELEASE_STATE_MACHINE.name: release.state_machine_arn,
                contract.REMEDIATE_STATE_MACHINE.name: remediate.state_machine_arn,
                contract.ARTIFACT_BUCKET.name: bucket.bucket_name,
                contract.RELEASE_BRANCHES.name: ",".join(settings.release_branches),
                contract.GUARD_ALARM_PREFIX.name: settings.guard_alarm_prefix,
            },
        )
        release.grant_start_execution(self.dispatch.function)
        remediate.grant_start_execution(self.dispatch.function)

        self.dead_letters = rule_dead_letters(self, of="the trigger rules")
        target = targets.LambdaFunction(
            self.dispatch.function,
            dead_letter_queue=self.dead_letters,
            retry_attempts=8,
            max_event_age=Duration.hours(2),
        )

        self._rule(
            "ReleaseBranchPushed",
            bus,
            {"source": ["rollgate.github"], "detail_type": ["Release Branch Pushed"]},
            target,
            "A push to a release branch, from the GitHub webhook receiver",
        )
        self._rule(
            "ReleaseRequested",
            bus,
            {"detail_type": ["Release Requested"]},
            target,
            "A release requested by any CI, manifest inline or by location",
        )
        self._rule(
            "CodeCommitPush",
            None,
            {
                "source": ["aws.codecommit"],
                "detail_type": ["CodeCommit Repository State Change"],
                "detail": {
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceType": ["branch"],
                    "referenceName": branch_filters(settings.release_branches),
                },
            },
            target,
            "A CodeCommit push to a release branch",
        )
        self._rule(
            "GuardAlarm",
            None,
            {
                "source": ["aws.cloudwatch"],
                "detail_type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": [{"prefix": settings.guard_alarm_prefix}], "state": {"value": ["ALARM"]}},
            },
            target,
            f"An alarm guarding a managed function ({settings.guard_alarm_prefix}…) went into ALARM",
        )

        # --- notifications: one readable line per outcome --------------------------------------
        # A customer managed key: EventBridge can publish to an encrypted topic only if the key
        # policy lets it use the key, which an AWS managed key's policy does not.
        self.key = kms.Key(
            self, "NotificationsKey", enable_key_rotation=True, description="Rollgate notifications topic encryption"
        )
        self.key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:GenerateDataKey*", "kms:Decrypt")
        self.topic = sns.Topic(self, "Notifications", display_name="Rollgate", master_key=self.key, enforce_ssl=True)
        if settings.notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.notification_email))
        events.Rule(
            self,
            "Outcomes",
            event_bus=bus,
            description="Every deployment, release and remediation outcome, to the notifications topic",
            event_pattern=events.EventPattern(source=["rollgate"]),
            targets=[
                targets.SnsTopic(
                    self.topic,
                    message=events.RuleTargetInput.from_text(events.EventField.from_path("$.detail.message")),
                )
            ],
        )

    def _rule(
        self,
        rule_id: str,
        bus: events.IEventBus | None,
        pattern: dict[str, Any],
        target: events.IRuleTarget,
        description: str,
    ) -> events.Rule:
        return events.Rule(
            self,
            rule_id,
            event_bus=bus,
            description=description,
            event_pattern=events.EventPattern(**pattern),
            targets=[target],
        )
