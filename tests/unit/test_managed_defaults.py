"""Managed-function defaults: what a function was declared with in the CDK app (Rollgate.manage)
fills what a console input or a push's manifest leaves out; what the input writes always wins."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rollgate import contract
from rollgate.aws.settings import ConfigurationError, Settings
from rollgate.domain.deploy.start import parse_health_policies, start_deployment
from rollgate.domain.release.waves import load_manifest, start_release
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.managed import (
    manifest_with_managed_defaults,
    parse_managed_functions,
    request_with_managed_defaults,
)
from rollgate.domain.shared.models import HealthPolicy, Strategy
from tests.unit.fakes import FakeClock, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
MANIFEST: dict[str, Any] = json.loads((ROOT / "tests/events/release_manifest.json").read_text())
EXECUTION = {"Name": "exec-1", "Id": "arn:aws:states:us-east-1:123456789012:execution:Deploy:exec-1"}
POLICIES = parse_health_policies({"strict": {"error_rate_relative_margin": 0.1, "latency_ratio_limit": 1.1}})
SMOKE = [{"name": "place-order", "payload": {"order_id": "smoke-1"}, "expect_subset": {"ok": True}}]
LINEAR = {"type": "linear", "steps": [25, 50], "interval_seconds": 120}
MANAGED = parse_managed_functions(
    [
        {
            "function_name": "orders-api",
            "alias": "prod",
            "strategy": LINEAR,
            "smoke_tests": SMOKE,
            "health_policy": "strict",
        },
        {"function_name": "payments-api", "health": {"min_invocations": 5, "latency_ratio_limit": 1.4}},
    ]
)


def _request(function_name: str = "orders-api", **fields: Any) -> dict[str, Any]:
    return {"function_name": function_name, "artifact": {"bucket": "artifacts", "key": "v2.zip"}, **fields}


def _validate(raw: dict[str, Any]) -> Any:
    """What the Validate task hands the gates: the managed defaults filled in, then the request parsed."""
    ctx = start_deployment(
        request_with_managed_defaults(raw, MANAGED),
        EXECUTION,
        ledger=FakeLedger(),
        clock=FakeClock(),
        lease_seconds=3600,
        health_policies=POLICIES,
    )
    return ctx.request


# --------------------------------------------------------------------------- a console input
def test_a_request_naming_only_function_and_artifact_gets_the_functions_declared_defaults() -> None:
    # when: the console input says which function and which build, nothing else
    request = _validate(_request())
    # then: alias, strategy, smoke tests and the named policy are the ones declared with the function
    assert request.alias == "prod"
    assert request.strategy == Strategy.model_validate(LINEAR)
    assert [test.name for test in request.smoke_tests] == ["place-order"]
    assert request.health_policy == "strict"
    assert request.health.latency_ratio_limit == 1.1 and request.health.error_rate_relative_margin == 0.1


def test_every_field_the_request_writes_wins_over_the_declared_default() -> None:
    # given: a request that writes its own alias, strategy, smoke tests (none) and policy fields
    raw = _request(
        alias="live",
        strategy={"type": "all_at_once", "steps": []},
        smoke_tests=[],
        health_policy="strict",
        health={"latency_ratio_limit": 1.25},
    )
    # when
    request = _validate(raw)
    # then: nothing of the declared defaults replaced what it wrote
    assert request.alias == "live"
    assert request.strategy.type.value == "all_at_once"
    assert request.smoke_tests == []
    assert request.health.latency_ratio_limit == 1.25


def test_an_inline_policy_sits_under_the_requests_own_health_fields() -> None:
    # given: payments-api declared with inline fields; the request sets one of them itself
    request = _validate(_request("payments-api", health={"latency_ratio_limit": 1.2}))
    # then: the request's field wins, the declared one it does not set applies, the rest are defaults
    assert request.health.latency_ratio_limit == 1.2
    assert request.health.min_invocations == 5
    assert request.health.metric_period_seconds == HealthPolicy().metric_period_seconds
    assert request.alias == "live"  # nothing declared: the request's own default


def test_a_request_naming_its_own_policy_keeps_it_instead_of_the_declared_inline_one() -> None:
    request = _validate(_request("payments-api", health_policy="strict"))
    assert request.health.latency_ratio_limit == 1.1  # strict's, not the declared 1.4
    assert request.health.min_invocations == HealthPolicy().min_invocations


def test_a_function_given_by_arn_finds_its_defaults_and_an_unmanaged_one_is_left_as_it_is() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders-api"
    assert _validate(_request(arn)).alias == "prod"
    raw = _request("inventory-api")
    assert request_with_managed_defaults(raw, MANAGED) == raw
    assert request_with_managed_defaults("not an object", MANAGED) == "not an object"


# --------------------------------------------------------------------------- a push's manifest
class NoStore:
    def read_json(self, bucket: str, key: str, version_id: str | None) -> Any:
        raise AssertionError("an inline manifest reads nothing")


def _planned(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ctx = start_release({"manifest": manifest}, {"Name": "run-1", "Id": "arn:x:run-1"}, clock=FakeClock())
    plan = load_manifest(ctx, store=NoStore(), health_policies=POLICIES, managed_functions=MANAGED).plan
    assert plan is not None
    return {planned.request["function_name"]: planned.request for wave in plan.waves for planned in wave}


def _bare_manifest() -> dict[str, Any]:
    """The sample manifest without its defaults: each function says only what it changes."""
    manifest = copy.deepcopy(MANIFEST)
    del manifest["defaults"]
    return manifest


def test_a_manifest_that_leaves_fields_out_gets_each_functions_declared_defaults() -> None:
    requests = _planned(_bare_manifest())
    orders, payments, inventory = requests["orders-api"], requests["payments-api"], requests["inventory-api"]
    # orders-api: declared alias, smoke tests and policy; its entry's own strategy wins
    assert orders["alias"] == "prod" and orders["smoke_tests"][0]["name"] == "place-order"
    assert orders["health_policy"] == "strict" and orders["health"]["latency_ratio_limit"] == 1.1
    assert orders["strategy"]["type"] == "linear" and orders["strategy"]["steps"] == [10, 25, 50]
    # payments-api: its inline fields
    assert payments["health"]["min_invocations"] == 5 and payments["health"]["latency_ratio_limit"] == 1.4
    # inventory-api is not managed: the manifest's own defaults
    assert inventory["alias"] == "live" and inventory["smoke_tests"] == []


def test_the_manifests_own_defaults_win_over_the_declared_ones() -> None:
    # given: the sample manifest, whose defaults set alias, strategy, smoke tests and health fields
    requests = _planned(copy.deepcopy(MANIFEST))
    orders, payments = requests["orders-api"], requests["payments-api"]
    # then: what the manifest wrote stands; only what it left out (the policy) is declared
    assert orders["alias"] == "live"
    assert payments["strategy"] == MANIFEST["defaults"]["strategy"]
    assert orders["health_policy"] == "strict"
    # payments: declared inline fields under the manifest's defaults.health
    assert payments["health"]["error_rate_ceiling"] == 0.05 and payments["health"]["min_invocations"] == 5


def test_malformed_manifests_are_left_for_the_model_to_name() -> None:
    for data in ("text", {"waves": "none"}, {"waves": [{"functions": [7]}]}):
        assert manifest_with_managed_defaults(data, MANAGED) == data


# --------------------------------------------------------------------------- the environment
def test_the_tasks_read_the_declared_defaults_from_their_environment() -> None:
    environ = {
        contract.LEDGER_TABLE.name: "ledger",
        contract.EVENT_BUS.name: "bus",
        contract.MANAGED_FUNCTIONS.name: json.dumps([{"function_name": "orders-api", "alias": "prod"}]),
    }
    settings = Settings.from_environ(environ)
    assert settings.managed_functions["orders-api"].alias == "prod"
    assert Settings.from_environ({k: v for k, v in environ.items() if k != contract.MANAGED_FUNCTIONS.name}) == (
        Settings.from_environ({**environ, contract.MANAGED_FUNCTIONS.name: "[]"})
    )


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("{", "not JSON"),
        ('{"orders-api": {}}', "expected a list"),
        ('[{"function_name": "orders-api", "alias": "$LATEST"}]', "managed functions.0.alias"),
        ('[{"function_name": "a"}, {"function_name": "a"}]', "managed twice"),
    ],
)
def test_a_malformed_variable_fails_the_cold_start_naming_it(value: str, named: str) -> None:
    environ = {contract.LEDGER_TABLE.name: "l", contract.EVENT_BUS.name: "b", contract.MANAGED_FUNCTIONS.name: value}
    with pytest.raises(ConfigurationError, match=contract.MANAGED_FUNCTIONS.name) as raised:
        Settings.from_environ(environ)
    assert named in str(raised.value)


def test_a_bad_declared_default_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidRequest, match=r"managed functions\.0\.strategy\.steps"):
        parse_managed_functions([{"function_name": "orders-api", "strategy": {"steps": "ten"}}])
