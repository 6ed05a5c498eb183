"""The Reconciler: the Reconcile function runs when a DeployFunction execution ends early, may move
only managed aliases, and is cdk-nag clean.

Until the stack wires it (``RollgateStack.reconciler``), the test adds it to a fresh Rollgate stack
the way the stack is to: ``Reconciler(self, "Reconciler", **shared).watch(self.deploy.state_machine)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from rollgate.domain.deploy import reconcile as domain_reconcile
from rollgate_cdk.build import cdk_json_context
from rollgate_cdk.reconcile import ENDED_EARLY, Reconciler
from rollgate_cdk.settings import Settings
from rollgate_cdk.stack import STACK_NAME, RollgateStack
from rollgate_cdk.synth import findings
from tests.infra.test_iam import MANAGED_TAG_CONDITION, actions_of, statements_by_task


class _Synth:
    def __init__(self, template: dict[str, Any], problems: list[Any]) -> None:
        self.json = template
        self.problems = problems

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.json["Resources"].items() if r["Type"] == resource_type}


@pytest.fixture(scope="module")
def with_reconciler(tmp_path_factory: pytest.TempPathFactory) -> _Synth:
    outdir = tmp_path_factory.mktemp("reconcile-cdk.out")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(), analytics_reporting=False)
    settings = Settings.from_context(app.node)
    stack = RollgateStack(app, STACK_NAME, stack_name=STACK_NAME, settings=settings)
    if getattr(stack, "reconciler", None) is None:
        shared = {"settings": settings, "table": stack.ledger.table, "bucket": stack.artifacts.bucket}
        Reconciler(stack, "Reconciler", bus=stack.events.bus, **shared).watch(stack.deploy.state_machine)
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    assembly = app.synth()
    template = json.loads(Path(assembly.get_stack_by_name(STACK_NAME).template_full_path).read_text())
    return _Synth(template, findings(assembly))


def test_the_domain_and_the_rule_agree_on_which_ends_to_reconcile() -> None:
    assert ENDED_EARLY == domain_reconcile.ENDED_EARLY


def test_a_deploy_execution_that_ended_early_runs_reconcile(with_reconciler: _Synth) -> None:
    (rule,) = [
        r
        for r in with_reconciler.resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.states"]
    ]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["ABORTED", "TIMED_OUT", "FAILED"]
    (machine,) = pattern["detail"]["stateMachineArn"]
    assert machine["Ref"].startswith("Deploy")
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    assert "DeadLetterConfig" in target
    assert "EventBusName" not in rule["Properties"]  # the default bus, where Step Functions sends it


def test_reconcile_moves_only_managed_aliases_and_reads_executions(with_reconciler: _Synth) -> None:
    statements = statements_by_task(with_reconciler)["reconcile"]
    assert actions_of(statements, "lambda:") == {"lambda:GetAlias", "lambda:UpdateAlias"}
    for statement in statements:
        if actions_of([statement], "lambda:"):
            assert statement["Condition"] == MANAGED_TAG_CONDITION
    wanted = {"states:DescribeExecution", "states:GetExecutionHistory", "events:PutEvents", "dynamodb:PutItem"}
    assert wanted <= actions_of(statements)


def test_the_stack_with_the_reconciler_is_nag_clean(with_reconciler: _Synth) -> None:
    assert with_reconciler.problems == []
