"""The Remediate state machine as synthesized: every action Assess can decide has its route."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from rollgate.domain.remediate.remediation import RemediationContext
from tests.infra.conftest import Synthesized, parse_definition


@pytest.fixture(scope="module")
def remediate_definition(synthesized: Synthesized) -> dict[str, Any]:
    machines = synthesized.resources("AWS::StepFunctions::StateMachine")
    logical_id = synthesized.stack.get_logical_id(
        synthesized.stack.remediate.state_machine.node.default_child  # type: ignore[arg-type]
    )
    return parse_definition(machines[synthesized.stack.resolve(logical_id)]["Properties"]["DefinitionString"])


def test_every_action_assess_decides_has_a_route(remediate_definition: dict[str, Any]) -> None:
    choice = remediate_definition["States"]["Action?"]
    routes = {rule["StringEquals"]: rule["Next"] for rule in choice["Choices"]}
    actions = set(typing.get_args(RemediationContext.model_fields["action"].annotation))
    # "none" changes nothing: the Default records it; every action that acts goes through Remediate
    assert set(routes) == actions - {"none"}
    assert set(routes.values()) == {"Remediate"}
    assert choice["Default"] == "RecordRemediation"
    # taking over from a dead holder is Remediate's, not a flag
    assert routes["take_over"] == "Remediate"
