"""The WebhookReceiver construct, synthesized on a throwaway stack with cdk-nag attached."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Aspects
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint_file

from rollgate_cdk.event_bus import RollgateBus
from rollgate_cdk.ledger import Ledger
from rollgate_cdk.settings import Settings
from rollgate_cdk.webhook import WebhookReceiver

STACK = "WebhookTest"
KNOWN_CDK_WARNINGS = {"W3005"}  # as in test_cfn_lint.py


@dataclass(frozen=True)
class Synth:
    stack: cdk.Stack
    receiver: WebhookReceiver
    template: Template
    template_path: Path
    messages: list[tuple[str, str]]  # (level, text)

    def logical_id(self, construct: Any) -> str:
        return str(self.stack.resolve(self.stack.get_logical_id(construct.node.default_child)))


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out")), analytics_reporting=False)
    stack = cdk.Stack(app, STACK)
    ledger = Ledger(stack, "Ledger")
    bus = RollgateBus(stack, "Events")
    receiver = WebhookReceiver(
        stack,
        "Webhook",
        settings=Settings(release_branches=("release/*", "hotfix/*")),
        table=ledger.table,
        bus=bus.bus,
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(STACK)
    messages = [
        (str(getattr(message.level, "value", message.level)).lower(), str(message.entry.data))
        for message in artifact.messages
    ]
    return Synth(
        stack=stack,
        receiver=receiver,
        template=Template.from_stack(stack),
        template_path=Path(artifact.template_full_path),
        messages=messages,
    )


def receiver_function(synth: Synth) -> dict[str, Any]:
    functions = synth.template.find_resources("AWS::Lambda::Function")
    return dict(functions[synth.logical_id(synth.receiver.function)])


def receiver_statements(synth: Synth) -> list[dict[str, Any]]:
    role = {"Ref": synth.logical_id(synth.receiver.task.role)}
    return [
        statement
        for policy in synth.template.find_resources("AWS::IAM::Policy").values()
        if role in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_function_url_has_no_aws_auth_and_targets_the_receiver(synth: Synth) -> None:
    # GitHub cannot sign AWS requests: the HMAC checked by the handler is the authentication
    synth.template.resource_count_is("AWS::Lambda::Url", 1)
    synth.template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "AuthType": "NONE",
            "TargetFunctionArn": {"Fn::GetAtt": [synth.logical_id(synth.receiver.function), "Arn"]},
        },
    )
    synth.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "NONE", "Principal": "*"},
    )


def test_secret_is_generated_and_says_what_to_do_with_it(synth: Synth) -> None:
    synth.template.resource_count_is("AWS::SecretsManager::Secret", 1)
    synth.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Description": Match.string_like_regexp("GitHub webhook"),
            "GenerateSecretString": Match.object_like({"ExcludePunctuation": True}),
        },
    )
    [secret] = synth.template.find_resources("AWS::SecretsManager::Secret").values()
    assert "SecretString" not in secret["Properties"]  # no value in the template


def test_receiver_runs_the_handler_within_githubs_timeout(synth: Synth) -> None:
    properties = receiver_function(synth)["Properties"]
    assert properties["Handler"] == "rollgate.triggers.github_webhook.lambda_handler"
    assert properties["Timeout"] <= 10


def test_environment_names_table_bus_secret_and_release_branches(synth: Synth) -> None:
    variables = receiver_function(synth)["Properties"]["Environment"]["Variables"]
    assert variables["LEDGER_TABLE_NAME"] == {"Ref": synth.logical_id(table_of(synth))}
    assert variables["EVENT_BUS_NAME"] == {"Ref": synth.logical_id(bus_of(synth))}
    assert variables["WEBHOOK_SECRET_ARN"] == {"Ref": synth.logical_id(synth.receiver.secret)}
    assert variables["RELEASE_BRANCHES"] == "release/*,hotfix/*"


def table_of(synth: Synth) -> Any:
    return synth.stack.node.find_child("Ledger").node.find_child("Table")


def bus_of(synth: Synth) -> Any:
    return synth.stack.node.find_child("Events").node.find_child("Bus")


def test_receiver_may_read_its_secret_claim_deliveries_and_put_events_only(synth: Synth) -> None:
    statements = receiver_statements(synth)
    by_action = {action: statement for statement in statements for action in _as_list(statement["Action"])}
    assert set(by_action) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "events:PutEvents",
    }
    table_arn = {"Fn::GetAtt": [synth.logical_id(table_of(synth)), "Arn"]}
    assert by_action["dynamodb:PutItem"]["Resource"] == table_arn  # the table only, not its indexes
    assert by_action["secretsmanager:GetSecretValue"]["Resource"] == {"Ref": synth.logical_id(synth.receiver.secret)}
    assert by_action["events:PutEvents"]["Resource"] == {"Fn::GetAtt": [synth.logical_id(bus_of(synth)), "Arn"]}


def test_cdk_nag_has_no_unacknowledged_findings(synth: Synth) -> None:
    findings = [text for level, text in synth.messages if level == "error" or text.startswith("AwsSolutions-")]
    assert findings == []


def test_cfn_lint_is_clean(synth: Synth) -> None:
    matches = lint_file(synth.template_path)
    assert [str(match) for match in matches if match.rule.id not in KNOWN_CDK_WARNINGS] == []
