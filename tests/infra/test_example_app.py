"""A team's own CDK app built on the Rollgate construct (examples/orders_app): it synthesizes, passes
cdk-nag and cfn-lint, its function is managed (tagged, its defaults in every task's environment),
and Rollgate's options are Settings' own."""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

import aws_cdk as cdk
import pytest
from cfnlint.api import lint_file

from rollgate import contract
from rollgate_cdk import Rollgate
from rollgate_cdk.construct import FEATURE_FLAGS
from rollgate_cdk.settings import Settings
from rollgate_cdk.synth import NAG_PACK

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "orders_app" / "app.py"
KNOWN_CDK_WARNINGS = {"W3005"}  # as in test_cfn_lint: DependsOn on a role CDK also GetAtts


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orders_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Example:
    module: ModuleType
    stack: Any
    template_path: Path
    template: dict[str, Any]
    messages: list[tuple[str, str, str]]  # level, construct path, text

    def functions(self) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    module = load_example()
    app = module.build_app(outdir=str(tmp_path_factory.mktemp("example-cdk.out")))
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(module.STACK_NAME)
    messages = [
        (str(m.level.value if hasattr(m.level, "value") else m.level).lower(), m.id, str(m.entry.data))
        for m in artifact.messages
    ]
    path = Path(artifact.template_full_path)
    return Example(module, app.node.find_child(module.STACK_NAME), path, json.loads(path.read_text()), messages)


def test_the_example_app_has_no_unacknowledged_cdk_nag_finding(example: Example) -> None:
    problems = [
        message
        for message in example.messages
        if message[0] == "error" or (message[0] == "warning" and message[2].startswith(NAG_PACK))
    ]
    assert problems == []


def test_cfn_lint_reports_nothing_on_the_example_app(example: Example) -> None:
    matches = lint_file(example.template_path)
    assert [str(m) for m in matches if m.rule.id.startswith("E")] == []
    assert [str(m) for m in matches if m.rule.id.startswith("W") and m.rule.id not in KNOWN_CDK_WARNINGS] == []


def test_the_managed_function_carries_the_tag_the_tasks_permissions_are_conditioned_on(example: Example) -> None:
    orders = next(f for f in example.functions().values() if f["Properties"].get("FunctionName") == "orders-api")
    assert {"Key": "rollgate:managed", "Value": "true"} in orders["Properties"]["Tags"]
    # only the function: its role and log group are not something Rollgate releases
    tagged = [
        resource["Type"]
        for resource in example.template["Resources"].values()
        if {"Key": "rollgate:managed", "Value": "true"} in (resource.get("Properties", {}).get("Tags") or [])
    ]
    assert tagged == ["AWS::Lambda::Function"]


def test_every_task_reads_the_functions_declared_defaults(example: Example) -> None:
    # given: the function's logical id
    orders_id = next(k for k, f in example.functions().items() if f["Properties"].get("FunctionName") == "orders-api")
    tasks = [
        f["Properties"]["Environment"]["Variables"]
        for f in example.functions().values()
        if f["Properties"]["Handler"].startswith("rollgate.tasks.")
    ]
    # then: every task (they share one settings model) has the same variable, naming the function by Ref
    documents = {json.dumps(variables[contract.MANAGED_FUNCTIONS.name], sort_keys=True) for variables in tasks}
    assert len(tasks) > 20 and len(documents) == 1
    separator, parts = json.loads(documents.pop())["Fn::Join"]
    text = separator.join(part if isinstance(part, str) else "orders-api" for part in parts)
    assert {"Ref": orders_id} in parts
    (declared,) = json.loads(text)
    assert declared["function_name"] == "orders-api" and declared["alias"] == "live"
    assert declared["health_policy"] == "strict" and declared["strategy"]["steps"] == [20]
    assert declared["smoke_tests"][0]["name"] == "place-order"


def test_the_stack_outputs_keep_the_names_the_cli_reads(example: Example) -> None:
    assert {"DeployStateMachineArn", "ReleaseStateMachineArn", "ArtifactBucketName", "LedgerTableName"} <= set(
        example.template["Outputs"]
    )
    assert example.template["Outputs"]["EventBusName"]["Export"]["Name"] == "OrdersApp-EventBusName"


# --------------------------------------------------------------------------- the construct's options
def test_rollgate_takes_every_settings_field_as_a_keyword_option_with_its_default() -> None:
    parameters = dict(inspect.signature(Rollgate.__init__).parameters)
    options = {name: p for name, p in parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert set(options) == {field.name for field in fields(Settings)}
    defaults = Settings()
    for field in fields(Settings):
        if field.default is not MISSING:
            assert options[field.name].default == getattr(defaults, field.name), field.name
        assert f"``{field.name}``" in (Rollgate.__doc__ or ""), f"{field.name} is not documented"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(analytics_reporting=False), "Team")


def test_a_bad_option_fails_naming_it() -> None:
    with pytest.raises(ValueError, match="rollgate:logRetentionDays=45"):
        Rollgate(_stack(), "Rollgate", log_retention_days=45)
    with pytest.raises(ValueError, match=r"rollgate:healthPolicies\.strict\.latency_ratio_limit"):
        Rollgate(_stack(), "Rollgate", health_policies={"strict": {"latency_ratio_limit": "high"}})


def test_one_rollgate_per_stack() -> None:
    stack = _stack()
    Rollgate(stack, "Rollgate")
    with pytest.raises(ValueError, match="one Rollgate per stack"):
        Rollgate(stack, "Another")


def test_manage_refuses_a_bad_default_naming_the_function_and_field() -> None:
    stack = _stack()
    rollgate = Rollgate(stack, "Rollgate", health_policies={"strict": {"latency_ratio_limit": 1.1}})
    function = cdk.aws_lambda.Function(
        stack,
        "Fn",
        runtime=cdk.aws_lambda.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=cdk.aws_lambda.Code.from_inline("def handler(e, c): return e"),
    )
    with pytest.raises(ValueError, match=r"manage\(Team/Fn\)\.policy: unknown health policy 'lax'; known: strict"):
        rollgate.manage(function, policy="lax")
    with pytest.raises(ValueError, match=r"manage\(Team/Fn\)\.strategy\.interval_seconds"):
        rollgate.manage(function, strategy={"interval_seconds": -1})
    with pytest.raises(ValueError, match=r"manage\(Team/Fn\)\.alias"):
        rollgate.manage(function, alias="$LATEST")
    rollgate.manage(function, policy={"min_invocations": 5})
    assert rollgate.managed_functions == {
        "Team/Fn": {"function_name": function.function_name, "health": {"min_invocations": 5}}
    }
    with pytest.raises(ValueError, match="managed already"):
        rollgate.manage(function)


def test_manage_refuses_defaults_the_tasks_environment_has_no_room_for() -> None:
    stack = _stack()
    rollgate = Rollgate(stack, "Rollgate")
    function = cdk.aws_lambda.Function(
        stack,
        "Fn",
        runtime=cdk.aws_lambda.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=cdk.aws_lambda.Code.from_inline("def handler(e, c): return e"),
    )
    big = [{"name": f"smoke-{n}", "payload": {"blob": "x" * 400}} for n in range(10)]
    with pytest.raises(ValueError, match="over the 3,072 a task's environment has room for"):
        rollgate.manage(function, smoke_tests=big)
    # refused, it is not recorded: the function can still be managed with smaller defaults
    assert rollgate.managed_functions == {}
    rollgate.manage(function, smoke_tests=big[:1])


def test_rollgate_sets_the_feature_flags_the_rollgate_app_is_built_with() -> None:
    # the app's cdk.json and the construct agree, so Rollgate is the same in any app around it
    flags = {
        k: v for k, v in json.loads((ROOT / "cdk.json").read_text())["context"].items() if k.startswith("@aws-cdk/")
    }
    assert flags == FEATURE_FLAGS


def test_a_function_of_another_stack_is_managed_through_an_export() -> None:
    # given: the team's functions in one stack, Rollgate in another of the same app
    app = cdk.App(analytics_reporting=False)
    functions, releases = cdk.Stack(app, "Functions"), cdk.Stack(app, "Releases")
    function = cdk.aws_lambda.Function(
        functions,
        "Fn",
        runtime=cdk.aws_lambda.Runtime.PYTHON_3_12,
        handler="app.handler",
        code=cdk.aws_lambda.Code.from_inline("def handler(e, c): return e"),
    )
    rollgate = Rollgate(releases, "Rollgate")
    # when
    rollgate.manage(function, alias="live")
    # then: the tasks name it by the functions stack's export
    template = cdk.assertions.Template.from_stack(releases).to_json()
    validate = next(
        r
        for r in template["Resources"].values()
        if r["Properties"].get("Handler", "").endswith(".validate.lambda_handler")
    )
    _, parts = validate["Properties"]["Environment"]["Variables"][contract.MANAGED_FUNCTIONS.name]["Fn::Join"]
    assert any(isinstance(part, dict) and "Fn::ImportValue" in part for part in parts)
