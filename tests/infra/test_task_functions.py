"""Every Rollgate Lambda carries the house defaults and points at a handler that exists."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from rollgate import contract
from rollgate_cdk.deploy_tasks import DeployTasks
from rollgate_cdk.reconcile import Reconciler
from rollgate_cdk.release_tasks import ReleaseTasks, RemediateTasks

TASK_GROUPS = (DeployTasks, ReleaseTasks, RemediateTasks, Reconciler)
WORKFLOW_TASK_MODULES = tuple(module for group in TASK_GROUPS for module in group.MODULES)
TRIGGER_HANDLERS = {"rollgate.triggers.dispatch.lambda_handler", "rollgate.triggers.github_webhook.lambda_handler"}
TASK_HANDLERS = [contract.task_handler(group.PACKAGE, module) for group in TASK_GROUPS for module in group.MODULES]
EXPECTED_HANDLERS = set(TASK_HANDLERS) | TRIGGER_HANDLERS
POWERTOOLS_LAYER = re.compile(
    r"^arn:aws:lambda:\$\{AWS::Region\}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:\d+$"
)


def _functions(synthesized: Any) -> dict[str, dict[str, Any]]:
    return synthesized.resources("AWS::Lambda::Function")


def test_one_function_per_task_module_and_trigger(synthesized: Any) -> None:
    handlers = [fn["Properties"]["Handler"] for fn in _functions(synthesized).values()]
    assert len(handlers) == len(EXPECTED_HANDLERS)
    assert set(handlers) == EXPECTED_HANDLERS


def test_every_function_has_the_house_defaults(synthesized: Any) -> None:
    synthesized.template.resource_properties_count_is(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "MemorySize": 512,
            "Timeout": 60,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogFormat": "JSON", "LogGroup": {"Ref": Match.any_value()}},
            "Environment": {
                "Variables": {
                    "POWERTOOLS_SERVICE_NAME": "rollgate",
                    "POWERTOOLS_METRICS_NAMESPACE": "Rollgate",
                    "LOG_LEVEL": "INFO",
                    "LEDGER_TABLE_NAME": {"Ref": Match.string_like_regexp("^LedgerTable")},
                    "EVENT_BUS_NAME": {"Ref": Match.string_like_regexp("^EventsBus")},
                    "ARTIFACT_BUCKET_NAME": {"Ref": Match.string_like_regexp("^ArtifactsBucket")},
                }
            },
        },
        # the tasks with a timeout of their own (a hook may take minutes to answer) are counted below
        len(WORKFLOW_TASK_MODULES) - len(DeployTasks.TIMEOUT_SECONDS),
    )
    for module, seconds in DeployTasks.TIMEOUT_SECONDS.items():
        handler = contract.task_handler(DeployTasks.PACKAGE, module)
        (fn,) = [f for f in _functions(synthesized).values() if f["Properties"]["Handler"] == handler]
        assert fn["Properties"]["Timeout"] == seconds


def test_every_function_logs_to_its_own_group_with_retention(synthesized: Any) -> None:
    log_groups = synthesized.resources("AWS::Logs::LogGroup")
    used = [fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for fn in _functions(synthesized).values()]
    assert len(set(used)) == len(EXPECTED_HANDLERS)
    for logical_id in used:
        assert log_groups[logical_id]["Properties"]["RetentionInDays"] == 30


def test_every_function_runs_on_the_powertools_layer(synthesized: Any) -> None:
    for fn in _functions(synthesized).values():
        (layer,) = fn["Properties"]["Layers"]
        separator, parts = layer["Fn::Join"]
        arn = separator.join(part if isinstance(part, str) else f"${{{part['Ref']}}}" for part in parts)
        assert POWERTOOLS_LAYER.match(arn), arn


def test_all_tasks_share_one_code_asset(synthesized: Any) -> None:
    keys = {fn["Properties"]["Code"]["S3Key"] for fn in _functions(synthesized).values()}
    assert len(keys) == 1
    (asset_hash,) = {key.removesuffix(".zip") for key in keys}
    staged = synthesized.outdir / f"asset.{asset_hash}"
    assert (staged / "rollgate" / "tasks").is_dir()
    assert not list(staged.rglob("__pycache__")), "bytecode caches must not be shipped"


def test_no_function_uses_a_managed_policy(synthesized: Any) -> None:
    for role in synthesized.resources("AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


@pytest.mark.parametrize("handler", TASK_HANDLERS)
def test_each_handler_module_defines_lambda_handler(handler: str) -> None:
    module = handler.removesuffix(".lambda_handler")
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is missing"
    tree = ast.parse(Path(spec.origin).read_text())
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    names |= {
        alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert "lambda_handler" in names
