"""One synthesis of the Rollgate app per test session (per xdist worker), shared by every infra test."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import cx_api
from aws_cdk.assertions import Template

from rollgate_cdk.build import build_app, rollgate_stack
from rollgate_cdk.stack import STACK_NAME, RollgateStack

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Under `pytest -n 2 --dist loadgroup` keep all infra tests on one worker: one synthesis.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.xdist_group("infra"))


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    stack: RollgateStack
    assembly: cx_api.CloudAssembly
    template: Template
    #: the synthesized template as plain JSON
    json: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir))
    assembly = app.synth()
    stack = rollgate_stack(app)
    template_path = Path(assembly.get_stack_by_name(STACK_NAME).template_full_path)
    return Synthesized(
        outdir=outdir,
        stack=stack,
        assembly=assembly,
        template=Template.from_stack(stack),
        json=json.loads(template_path.read_text()),
    )


def _placeholder(token: dict[str, Any]) -> str:
    if "Fn::GetAtt" in token:
        logical_id, attribute = token["Fn::GetAtt"]
        return f"${{{logical_id}.{attribute}}}"
    if "Ref" in token:
        return f"${{{token['Ref']}}}"
    raise AssertionError(f"unexpected token in a state machine definition: {token}")


def parse_definition(definition_string: Any) -> dict[str, Any]:
    """The ASL of a DefinitionString (plain, or Fn::Join with GetAtt/Ref tokens turned into
    "${LogicalId.Attr}" placeholders)."""
    if isinstance(definition_string, str):
        return dict(json.loads(definition_string))
    separator, parts = definition_string["Fn::Join"]
    assert separator == ""
    text = "".join(part if isinstance(part, str) else _placeholder(part) for part in parts)
    return dict(json.loads(text))


@pytest.fixture(scope="session")
def deploy_state_machine(synthesized: Synthesized) -> dict[str, Any]:
    machines = synthesized.resources("AWS::StepFunctions::StateMachine")
    logical_id = synthesized.stack.get_logical_id(
        synthesized.stack.deploy.state_machine.node.default_child  # type: ignore[arg-type]
    )
    return machines[synthesized.stack.resolve(logical_id)]


@pytest.fixture(scope="session")
def deploy_definition(deploy_state_machine: dict[str, Any]) -> dict[str, Any]:
    return parse_definition(deploy_state_machine["Properties"]["DefinitionString"])
