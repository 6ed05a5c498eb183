"""Named health policies from cdk.json context: validated at synth, and handed to the tasks (Validate
and LoadManifest resolve them) as ROLLGATE_HEALTH_POLICIES."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest

from rollgate_cdk.build import cdk_json_context
from rollgate_cdk.settings import HEALTH_POLICIES, Settings

VARIABLE = "ROLLGATE_HEALTH_POLICIES"


def _environment_by_handler(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {
        fn["Properties"]["Handler"]: fn["Properties"].get("Environment", {}).get("Variables", {})
        for fn in synthesized.resources("AWS::Lambda::Function").values()
    }


def test_the_tasks_get_the_policies_of_the_context(synthesized: Any) -> None:
    # given: the policies of cdk.json, each as written
    configured = cdk_json_context()[HEALTH_POLICIES]
    assert configured, "cdk.json ships a sample policy"
    # when: the stack is synthesized
    by_handler = _environment_by_handler(synthesized)
    # then: every task (they read one Settings model; Validate and LoadManifest resolve the names)
    # carries them, only the fields each policy sets; the triggers, which read no Settings, do not
    holders = {handler for handler, variables in by_handler.items() if VARIABLE in variables}
    assert holders == {handler for handler in by_handler if handler.startswith("rollgate.tasks.")}
    assert {
        "rollgate.tasks.deploy.validate.lambda_handler",
        "rollgate.tasks.release.load_manifest.lambda_handler",
    } <= holders
    for handler in holders:
        assert json.loads(by_handler[handler][VARIABLE]) == configured


def _settings(context: dict[str, Any]) -> Settings:
    app = cdk.App(context=context, analytics_reporting=False)
    return Settings.from_context(app.node)


@pytest.mark.parametrize(
    ("policies", "named"),
    [
        ({"strict": {"error_rate_ceiling": 2}}, "rollgate:healthPolicies.strict: error_rate_ceiling is a fraction"),
        ({"strict": {"latency_ratio": 1.1}}, "rollgate:healthPolicies.strict.latency_ratio: unknown field"),
        ({"strict": {"min_invocations": "many"}}, "rollgate:healthPolicies.strict.min_invocations: "),
        ({"no spaces please": {}}, "rollgate:healthPolicies: 'no spaces please' is not a policy name"),
        ('{"strict": ', "rollgate:healthPolicies: not JSON"),
        (
            {f"p{i}": {"alarm_names": ["a" * 60] * 5} for i in range(12)},
            "rollgate:healthPolicies: 4,059 bytes of JSON, over the 3,072",
        ),
    ],
)
def test_a_bad_policy_fails_the_synth_naming_its_field(policies: Any, named: str) -> None:
    # `cdk -c rollgate:healthPolicies='…'` passes text; cdk.json an object
    with pytest.raises(ValueError, match="^" + re.escape(named)):
        _settings({HEALTH_POLICIES: policies})


def test_a_policy_given_on_the_command_line_is_read_as_json() -> None:
    settings = _settings({HEALTH_POLICIES: '{"strict": {"min_invocations": 50}}'})
    assert json.loads(settings.health_policies_json) == {"strict": {"min_invocations": 50}}


def test_without_policies_the_tasks_know_none() -> None:
    assert _settings({}).health_policies_json == "{}"
