"""WebhookReceiver: the GitHub webhook endpoint that turns release branch pushes into events."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from rollgate import contract
from rollgate_cdk.settings import Settings
from rollgate_cdk.task_function import TaskFunction

HANDLER = "rollgate.triggers.github_webhook.lambda_handler"
#: GitHub waits 10 seconds for a webhook's answer; running longer only hides a timeout from GitHub.
TIMEOUT = Duration.seconds(10)


class WebhookReceiver(Construct):
    """A Lambda function URL for GitHub's push webhooks, and the secret their HMAC is made with.

    The URL has auth type NONE: GitHub cannot sign AWS requests. The handler answers 401, and
    does nothing else, unless X-Hub-Signature-256 is the HMAC-SHA256 of the body with
    ``.secret``. A push to a branch matching ``settings.release_branches`` becomes a
    ``Release Branch Pushed`` event on ``bus``; deliveries are deduplicated in ``table``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        table: dynamodb.ITable,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)

        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description=(
                "Rollgate GitHub webhook secret: set this to the GitHub webhook's secret (or enter "
                "this generated value as the webhook's Secret in GitHub). Requests not signed with "
                "it are rejected."
            ),
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=40, exclude_punctuation=True),
        )
        NagSuppressions.add_resource_suppressions(
            self.secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason=(
                        "The value is shared with GitHub, which cannot fetch it: it can only change "
                        "when someone also changes it in the repository's webhook settings, so "
                        "automatic rotation would break every delivery."
                    ),
                )
            ],
        )

        self.task = TaskFunction(
            self,
            "Receiver",
            handler=HANDLER,
            settings=settings,
            description="Rollgate GitHub webhook: release branch pushes to the Rollgate bus",
            memory_size=256,
            timeout=TIMEOUT,
            environment={
                contract.LEDGER_TABLE.name: table.table_name,
                contract.EVENT_BUS.name: bus.event_bus_name,
                contract.WEBHOOK_SECRET.name: self.secret.secret_arn,
                contract.RELEASE_BRANCHES.name: ",".join(settings.release_branches),
            },
        )
        self.function = self.task.function

        self.secret.grant_read(self.function)
        # Claim a delivery id (conditional PutItem) and give it back when publishing failed: the
        # table itself only (table.grant would add its indexes, which the receiver never reads).
        self.task.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem", "dynamodb:DeleteItem"], resources=[table.table_arn])
        )
        if table.encryption_key is not None:
            table.encryption_key.grant_encrypt_decrypt(self.function)
        bus.grant_put_events_to(self.function)

        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
