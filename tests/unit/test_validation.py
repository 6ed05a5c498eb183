"""The input rules of every entry point, one bad input at a time: each is refused with the field
named, and nothing is touched (no lease, no record)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.deploy.start import start_deployment
from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.remediate.remediation import start_remediation
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.triggers import start_for_event
from rollgate.domain.shared.validation import (
    MAX_DEPTH,
    MAX_REQUEST_BYTES,
    StackHome,
    check_document,
    check_function_name,
    load_json,
)
from tests.unit.fakes import FakeClock, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
ALARM = json.loads((ROOT / "tests/events/alarm_state_change.json").read_text())
MANIFEST = json.loads((ROOT / "tests/events/release_manifest.json").read_text())
HOME = StackHome(partition="aws", region="us-east-1", account="123456789012")
EXECUTION = {"Name": "exec-1", "Id": "arn:aws:states:us-east-1:123456789012:execution:Deploy:exec-1"}
ROUTING = {"artifact_bucket": "artifacts", "release_branches": ["release/*"], "guard_alarm_prefix": "rollgate-guard-"}
SHA = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


def request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"function_name": "orders-api", "artifact": {"bucket": "artifacts", "key": "v2.zip"}}
    body.update(overrides)
    return body


def refused(raw: Any, ledger: FakeLedger | None = None) -> str:
    """Start a deployment of `raw`; the InvalidRequest message, after checking nothing was locked."""
    ledger = ledger or FakeLedger()
    with pytest.raises(InvalidRequest) as caught:
        start_deployment(raw, EXECUTION, ledger=ledger, clock=FakeClock(), lease_seconds=3600)
    assert ledger.leases == {}, "a refused request must not take the lease"
    return str(caught.value)


# --------------------------------------------------------------------------- function names and ARNs
def test_an_arn_of_another_account_is_refused_not_reduced_to_this_accounts_function() -> None:
    # given an ARN in account 999999999999, started by an execution in 123456789012
    arn = "arn:aws:lambda:us-east-1:999999999999:function:orders-api"
    # then it is refused, naming the field and both accounts, and no lease is taken
    message = refused(request(function_name=arn))
    assert message.startswith("function_name: ")
    assert "account 999999999999" in message and "account 123456789012" in message


def test_an_arn_of_another_region_is_refused() -> None:
    message = refused(request(function_name="arn:aws:lambda:eu-west-1:123456789012:function:orders-api"))
    assert message.startswith("function_name: ") and "region eu-west-1" in message


def test_an_arn_of_this_stack_deploys_the_function_by_its_name() -> None:
    ctx = start_deployment(
        request(function_name="arn:aws:lambda:us-east-1:123456789012:function:orders-api"),
        EXECUTION,
        ledger=FakeLedger(),
        clock=FakeClock(),
        lease_seconds=3600,
    )
    assert ctx.function_name == "orders-api"


@pytest.mark.parametrize(
    "name",
    [
        "orders-api\n",  # `$` in a regex lets a trailing newline through
        "orders api",
        "x" * 65,
        # the account in fullwidth digits
        "arn:aws:lambda:us-east-1:\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12:function:x",
        "arn:aws:lambda:us-east-1:123456789012:function:orders-api:live",  # qualified
        "arn:aws:s3:::bucket",
        "",
    ],
)
def test_names_outside_awss_rules_are_refused(name: str) -> None:
    assert refused(request(function_name=name)).startswith("function_name: ")


def test_partial_arns_are_names_too() -> None:
    assert check_function_name("123456789012:function:orders-api", HOME) == "orders-api"
    with pytest.raises(ValueError, match="account 999999999999"):
        check_function_name("999999999999:function:orders-api", HOME)


def test_the_stack_home_comes_from_any_arn_of_the_stack() -> None:
    assert StackHome.from_arn(EXECUTION["Id"]) == HOME
    assert StackHome.from_arn("arn:exec:exec-1") is None and StackHome.from_arn(None) is None


# --------------------------------------------------------------------------- aliases, environment, text
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"alias": "$LATEST"}, "alias"),
        ({"alias": "42"}, "alias"),  # digits only: a version, not an alias
        ({"alias": "live\n"}, "alias"),
        ({"environment": {"AWS_REGION": "eu-west-1"}}, "environment.AWS_REGION"),
        ({"environment": {"1X": "y"}}, "environment.1X"),
        ({"environment": {"MY-VAR": "y"}}, "environment.MY-VAR"),
        ({"environment": {"BIG": "x" * 4100}}, "environment.BIG"),
        ({"environment": {f"K{i}": "v" * 90 for i in range(50)}}, "environment"),  # 4 KB in all
        ({"required_environment": ["_HANDLER"]}, "required_environment.0"),
        ({"provenance": {"trigger": "ci\x00"}}, "provenance.trigger"),
        ({"smoke_tests": [{"name": "ping\r\n"}]}, "smoke_tests.0.name"),
        ({"expected_code_sha256": "c2hh"}, "expected_code_sha256"),
        ({"artifact": {"bucket": "artifacts", "key": "v2.zip\n"}}, "artifact.key"),
        ({"artifact": {"image_uri": "repo@sha256:" + "a" * 64 + "\n"}}, "artifact.image_uri"),
    ],
)
def test_names_keys_and_text_follow_the_rules(overrides: dict[str, Any], field: str) -> None:
    assert refused(request(**overrides)).startswith(f"{field}: ")


# --------------------------------------------------------------------------- numbers and durations
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"watch_seconds": 365 * 86_400}, "watch_seconds"),  # a year
        ({"watch_seconds": 10**30}, "watch_seconds"),  # beyond any JSON integer
        ({"watch_seconds": True}, "watch_seconds"),
        ({"watch_seconds": -1}, "watch_seconds"),
        ({"strategy": {"type": "canary", "steps": [10], "interval_seconds": 10**12}}, "strategy.interval_seconds"),
        ({"health": {"max_iterator_age_growth_ms": float("nan")}}, "health.max_iterator_age_growth_ms"),
        ({"health": {"latency_ratio_limit": float("inf")}}, "health.latency_ratio_limit"),
        ({"health": {"latency_min_delta_ms": -5.0}}, "health"),
        ({"health": {"max_extension_seconds": 10**9}}, "health"),
        ({"update_polling": {"interval_seconds": 5, "max_polls": 10**6}}, "update_polling.max_polls"),
    ],
)
def test_numbers_are_finite_and_bounded(overrides: dict[str, Any], field: str) -> None:
    message = refused(request(**overrides))
    assert message.startswith(f"{field}: ")
    if field == "health":
        assert any(name in message for name in ("latency_min_delta_ms", "max_extension_seconds"))


def test_a_request_that_cannot_fit_one_executions_history_is_refused() -> None:
    # given a judgement every second for a day of watch: 86,400 Wait/Task/Choice loops
    raw = request(health={"metric_period_seconds": 1}, watch_seconds=86_400)
    # then it is refused before the lease, naming what to change
    assert "metric_period_seconds" in refused(raw)


def test_defaults_and_the_samples_stay_within_the_bounds() -> None:
    ctx = start_deployment(request(), EXECUTION, ledger=FakeLedger(), clock=FakeClock(), lease_seconds=3600)
    assert ctx.request.wait_loops() < 200


# --------------------------------------------------------------------------- the document
def test_a_request_over_the_state_budget_is_refused_before_the_lease() -> None:
    # given a smoke payload that makes the request larger than its share of the 256 KB state
    raw = request(smoke_tests=[{"name": "big", "payload": {"blob": "x" * MAX_REQUEST_BYTES}}])
    # then it is refused naming the budget, and the lease is never written
    message = refused(raw)
    assert message.startswith("(request): ") and "131,072" in message


def test_deep_json_is_refused_naming_where_without_recursion() -> None:
    deep: Any = "bottom"
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(InvalidRequest, match=r"^smoke_tests\.0\.payload\.a\.a.*nested deeper than 32"):
        check_document({"smoke_tests": [{"name": "x", "payload": deep}]})
    with pytest.raises(InvalidRequest, match=r"^--policy: nested deeper"):
        load_json("[" * 100_000 + "]" * 100_000, "--policy")


def test_exactly_max_depth_is_fine() -> None:
    payload: Any = 1
    for _ in range(MAX_DEPTH - 3):
        payload = [payload]
    check_document({"smoke_tests": [{"payload": payload}]})


def test_lone_surrogates_are_refused_naming_the_path() -> None:
    raw = request(smoke_tests=[{"name": "ping", "payload": {"note": "\ud800"}}])
    assert refused(raw).startswith("smoke_tests.0.payload.note: contains a lone surrogate")


def test_nan_and_infinity_are_not_json() -> None:
    with pytest.raises(InvalidRequest, match=r"^--smoke-payload 1: NaN is not a JSON number"):
        load_json('{"x": NaN}', "--smoke-payload 1")


@pytest.mark.parametrize("raw", [["orders-api"], "orders-api", 42, None])
def test_a_non_object_input_is_an_invalid_request(raw: Any) -> None:
    assert refused(raw).startswith("(request): expected a JSON object")


# --------------------------------------------------------------------------- the manifest
def test_a_per_function_rule_in_the_last_wave_fails_the_manifest() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["waves"][1]["functions"][0]["environment"] = {"AWS_REGION": "eu-west-1"}
    with pytest.raises(InvalidRequest, match=r"^manifest\.waves\.1\.functions\.0\.environment\.AWS_REGION: "):
        parse_manifest(manifest)


def test_a_merged_health_policy_is_checked_per_function() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["waves"][0]["functions"][1]["health"] = {"metric_period_seconds": 1}
    manifest["defaults"]["watch_seconds"] = 86_400
    with pytest.raises(InvalidRequest, match=r"^manifest\.waves\.0\.functions\.1: .*metric_period_seconds"):
        parse_manifest(manifest)


def test_one_function_by_name_and_by_arn_is_refused() -> None:
    manifest = copy.deepcopy(MANIFEST)
    twin = copy.deepcopy(manifest["waves"][0]["functions"][0])
    twin["function_name"] = "arn:aws:lambda:us-east-1:123456789012:function:payments-api"
    manifest["waves"][1]["functions"].append(twin)
    with pytest.raises(InvalidRequest, match=r"already deployed by waves\.0\.functions\.0"):
        parse_manifest(manifest)


def test_a_manifest_arn_of_another_account_is_refused_with_a_home() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["waves"][0]["functions"][0]["function_name"] = "arn:aws:lambda:us-east-1:999999999999:function:pay"
    with pytest.raises(InvalidRequest, match=r"^manifest\.waves\.0\.functions\.0\.function_name: .*999999999999"):
        parse_manifest(manifest, home=HOME)


def test_the_sample_manifest_is_valid() -> None:
    assert len(parse_manifest(copy.deepcopy(MANIFEST), home=HOME).waves) == 2


# --------------------------------------------------------------------------- alarms and manual rollback
def remediation(raw: Any, execution: dict[str, Any] | None = None) -> Any:
    return start_remediation(
        raw,
        execution or {"Name": "r1", "Id": "arn:aws:states:us-east-1:123456789012:execution:Remediate:r1"},
        alarm_tags={},
        default_lookback_minutes=60,
        clock=FakeClock(),
    )


@pytest.mark.parametrize("state", ["OK", "INSUFFICIENT_DATA"])
def test_remediate_refuses_an_alarm_that_is_not_in_alarm(state: str) -> None:
    event = copy.deepcopy(ALARM)
    event["detail"]["state"]["value"] = state
    with pytest.raises(InvalidRequest, match=rf"^detail\.state\.value: .*is '{state}': Remediate acts only"):
        remediation(event)


@pytest.mark.parametrize(
    ("mangle", "field"),
    [
        (lambda e: e.update(detail=[1]), "detail"),
        (lambda e: e["detail"].update(state="ALARM"), "detail.state"),
        (lambda e: e["detail"].update(configuration={"metrics": {"m": 1}}), "detail.configuration.metrics"),
        (lambda e: e["detail"]["configuration"]["metrics"].append("m2"), "detail.configuration.metrics.1"),
        (lambda e: e.update(resources="arn"), "resources"),
        (lambda e: e.update(account="999999999999"), "account"),
        (
            lambda e: e["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"].update(
                dimensions={"FunctionName": "arn:aws:lambda:us-east-1:999999999999:function:orders-api"}
            ),
            "detail.configuration.metrics.0.metricStat.metric.dimensions.FunctionName",
        ),
    ],
)
def test_a_malformed_alarm_event_is_an_invalid_request_naming_the_field(mangle: Any, field: str) -> None:
    event = copy.deepcopy(ALARM)
    mangle(event)
    with pytest.raises(InvalidRequest) as caught:
        remediation(event)
    assert str(caught.value).startswith(f"{field}: ")


def test_the_sample_alarm_event_still_starts_a_remediation() -> None:
    ctx = remediation(copy.deepcopy(ALARM))
    assert (ctx.function_name, ctx.alias, ctx.trigger) == ("orders-api", "live", "alarm")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"function_name": "arn:aws:lambda:us-east-1:999999999999:function:orders-api"}, "function_name"),
        ({"function_name": "orders-api", "alias": "$LATEST"}, "alias"),
        ({"function_name": "orders-api", "lookback_minutes": 10**15}, "lookback_minutes"),
        ({"function_name": "orders-api", "reason": "oops\x1b[2J"}, "reason"),
    ],
)
def test_a_manual_rollback_follows_the_same_rules(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        remediation(raw)
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"detail-type": "Release Branch Pushed", "detail": {"branch": "release/1"}}, "detail.repository"),
        ({"detail-type": "Release Branch Pushed", "detail": "x"}, "detail"),
        ({"detail-type": "Release Requested", "detail": {"source": [1]}}, "detail.source"),
        ({"detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": 7}}, "detail.alarmName"),
    ],
)
def test_the_dispatcher_names_the_field_of_a_malformed_event(event: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        start_for_event(event, **ROUTING)
    assert str(caught.value).startswith(f"{field}: ")


def test_the_dispatcher_still_ignores_an_alarm_that_recovered() -> None:
    event = copy.deepcopy(ALARM)
    event["detail"]["state"]["value"] = "OK"
    assert "not ALARM" in start_for_event(event, **ROUTING)
