"""ROLLGATE_HEALTH_POLICIES: the stack's named health policies, read once per cold start by the tasks
that parse requests and manifests; a malformed one fails the cold start naming the variable."""

from __future__ import annotations

import json

import pytest

from rollgate.aws.settings import ConfigurationError, Settings

REQUIRED = {"LEDGER_TABLE_NAME": "ledger", "EVENT_BUS_NAME": "bus"}


def test_the_named_policies_are_read_keeping_only_their_own_fields() -> None:
    # given: the JSON infra writes from cdk.json context
    variable = json.dumps({"strict": {"latency_ratio_limit": 1.1, "on_inconclusive_watch": "rollback"}})
    # when
    settings = Settings.from_environ({**REQUIRED, "ROLLGATE_HEALTH_POLICIES": variable})
    # then: the policy keeps only what it sets, so HealthPolicy's defaults stay the one source of the rest
    strict = settings.health_policies["strict"]
    assert strict.model_dump(mode="json", exclude_unset=True) == {
        "latency_ratio_limit": 1.1,
        "on_inconclusive_watch": "rollback",
    }


def test_without_the_variable_no_policy_is_known() -> None:
    assert Settings.from_environ(REQUIRED).health_policies == {}


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"strict": {"error_rate_ceiling": 3}}), "health policies.strict: error_rate_ceiling"),
        (json.dumps({"strict": {"colour": "red"}}), "health policies.strict.colour: unknown field"),
        (json.dumps(["strict"]), "expected an object of named health policies"),
    ],
)
def test_a_malformed_variable_fails_the_cold_start_naming_it(value: str, named: str) -> None:
    with pytest.raises(ConfigurationError) as failed:
        Settings.from_environ({**REQUIRED, "ROLLGATE_HEALTH_POLICIES": value})
    message = str(failed.value)
    assert message.startswith("environment variable ROLLGATE_HEALTH_POLICIES: ") and named in message
