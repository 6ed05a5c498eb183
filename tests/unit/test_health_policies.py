"""Named health policies: a team sets "strict" once (cdk.json context) and a request or a manifest
names it; resolved once, where the request is parsed, under the request's own health fields."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.deploy.start import parse_health_policies, parse_request, start_deployment
from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.release.waves import load_manifest, start_release
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentContext, HealthPolicy
from rollgate_cli import main as cli_main
from tests.unit.cli_fakes import RecordingConnection, install_recording_connection
from tests.unit.fakes import FakeClock, FakeLedger

ROOT = Path(__file__).resolve().parents[2]
MANIFEST: dict[str, Any] = json.loads((ROOT / "tests/events/release_manifest.json").read_text())
EXECUTION = {"Name": "exec-1", "Id": "arn:aws:states:us-east-1:123456789012:execution:Deploy:exec-1"}
POLICIES = parse_health_policies(
    {
        "strict": {"error_rate_relative_margin": 0.1, "latency_ratio_limit": 1.1, "on_inconclusive_watch": "rollback"},
        "low-traffic": {"metric_period_seconds": 300, "min_invocations": 5},
    }
)
DEFAULTS = HealthPolicy()
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "d" * 64


def _request(**fields: Any) -> dict[str, Any]:
    return {"function_name": "orders-api", "artifact": {"bucket": "artifacts", "key": "v2.zip"}, **fields}


def test_a_named_policy_is_the_base_the_requests_own_fields_override() -> None:
    # given: "strict", with the request loosening one of its fields
    raw = _request(health_policy="strict", health={"latency_ratio_limit": 1.2})
    # when
    health = parse_request(raw, health_policies=POLICIES).health
    # then: the request's field wins, the policy's others apply, and the rest keep the defaults
    assert health.latency_ratio_limit == 1.2
    assert health.error_rate_relative_margin == 0.1 and health.on_inconclusive_watch.value == "rollback"
    assert health.metric_period_seconds == DEFAULTS.metric_period_seconds
    assert health.error_rate_ceiling == DEFAULTS.error_rate_ceiling


def test_the_resolved_policy_is_what_validate_hands_every_later_gate() -> None:
    ledger = FakeLedger()
    ctx = start_deployment(
        _request(health_policy="low-traffic"),
        EXECUTION,
        ledger=ledger,
        clock=FakeClock(),
        lease_seconds=3600,
        health_policies=POLICIES,
    )
    # the context is what flows to each gate and into the ledger record: it carries the resolution
    carried = DeploymentContext.model_validate(json.loads(json.dumps(ctx.model_dump(mode="json"))))
    assert carried.request.health_policy == "low-traffic"
    assert (carried.request.health.metric_period_seconds, carried.request.health.min_invocations) == (300, 5)
    # a policy with longer periods is judged less often: the lease is sized from the resolved one
    assert ctx.request.wait_loops() < parse_request(_request()).wait_loops()


def test_resolving_a_resolved_request_again_changes_nothing() -> None:
    # a console rerun or a manifest's child: its request already carries the resolved policy
    first = parse_request(_request(health_policy="strict", health={"min_invocations": 40}), health_policies=POLICIES)
    again = parse_request(first.model_dump(mode="json", exclude_none=True), health_policies=POLICIES)
    assert again.health == first.health


@pytest.mark.parametrize(
    ("policies", "known"),
    [(POLICIES, "known: low-traffic, strict"), ({}, "known: none (the stack has none: cdk.json context")],
)
def test_an_unknown_name_is_refused_naming_the_field_and_the_known_names(
    policies: dict[str, HealthPolicy], known: str
) -> None:
    ledger = FakeLedger()
    with pytest.raises(InvalidRequest) as refused:
        start_deployment(
            _request(health_policy="stricter"),
            EXECUTION,
            ledger=ledger,
            clock=FakeClock(),
            lease_seconds=3600,
            health_policies=policies,
        )
    assert str(refused.value).startswith("health_policy: unknown health policy 'stricter'; ")
    assert known in str(refused.value)
    assert ledger.leases == {}, "nothing is locked for a refused request"


@pytest.mark.parametrize(
    ("name", "field"),
    [("has space", "health_policy"), ("x" * 65, "health_policy"), (7, "health_policy")],
)
def test_a_malformed_name_is_refused_where_the_names_are_not_known(name: Any, field: str) -> None:
    # the CLI validates before it knows the stack's policies: the name's form is still checked
    with pytest.raises(InvalidRequest, match=f"^{field}: "):
        parse_request(_request(health_policy=name))


def test_where_the_names_are_not_known_the_name_is_carried_for_validate() -> None:
    request = parse_request(_request(health_policy="strict"))
    assert request.health_policy == "strict" and request.health == DEFAULTS


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"strict": {"error_rate_ceiling": 3}}, "rollgate:healthPolicies.strict: error_rate_ceiling"),
        ({"strict": {"latency_ratio": 1.1}}, "rollgate:healthPolicies.strict.latency_ratio: unknown field"),
        ({"strict": {"metric_period_seconds": "often"}}, "rollgate:healthPolicies.strict.metric_period_seconds"),
        ({"bad name": {}}, "rollgate:healthPolicies: 'bad name' is not a policy name"),
        (["strict"], "rollgate:healthPolicies: expected an object"),
    ],
)
def test_a_bad_named_policy_is_refused_naming_its_field(data: Any, named: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_health_policies(data)
    assert str(refused.value).startswith(named)


# --------------------------------------------------------------------------- the manifest
def _manifest(**defaults: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(MANIFEST)
    manifest["defaults"].update(defaults)
    return manifest


class NoStore:
    """The manifests here are inline: nothing is read from S3."""

    def read_json(self, bucket: str, key: str, version_id: str | None) -> Any:
        raise AssertionError("an inline manifest reads nothing")


def _plan(manifest: dict[str, Any]) -> list[Any]:
    ctx = start_release({"manifest": manifest}, {"Name": "run-1", "Id": "arn:x:run-1"}, clock=FakeClock())
    plan = load_manifest(ctx, store=NoStore(), health_policies=POLICIES).plan
    assert plan is not None
    return [planned for wave in plan.waves for planned in wave]


def _healths(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [p.request["health"] | {"(name)": p.request.get("health_policy")} for p in _plan(manifest)]


def test_the_defaults_name_a_policy_for_every_function_and_the_manifests_fields_override_it() -> None:
    # given: defaults name "strict" and set error_rate_ceiling; inventory sets latency_ratio_limit 1.5
    payments, inventory, orders = _healths(_manifest(health_policy="strict"))
    # then
    assert payments["(name)"] == inventory["(name)"] == orders["(name)"] == "strict"
    assert payments["error_rate_relative_margin"] == 0.1 and payments["latency_ratio_limit"] == 1.1
    assert inventory["latency_ratio_limit"] == 1.5  # the function's own field over the policy
    assert orders["error_rate_ceiling"] == 0.05  # the defaults' own field, over the policy


def test_a_function_may_name_another_policy() -> None:
    manifest = _manifest(health_policy="strict")
    manifest["waves"][1]["functions"][0]["health_policy"] = "low-traffic"
    payments, _, orders = _healths(manifest)
    assert orders["(name)"] == "low-traffic" and orders["min_invocations"] == 5
    assert orders["error_rate_relative_margin"] == DEFAULTS.error_rate_relative_margin  # not strict's
    # the manifest's own health fields (the defaults set metric_period_seconds: 60) still win
    assert orders["metric_period_seconds"] == 60
    assert payments["(name)"] == "strict"


def test_a_childs_validate_resolves_its_planned_request_to_the_same_policy() -> None:
    for planned in _plan(_manifest(health_policy="strict")):
        child = parse_request(planned.request, health_policies=POLICIES)
        assert child.health.model_dump(mode="json", exclude_none=True) == planned.request["health"]


@pytest.mark.parametrize(
    ("where", "field"),
    [("defaults", "manifest.defaults.health_policy"), ("function", "manifest.waves.1.functions.0.health_policy")],
)
def test_an_unknown_name_refuses_the_release_before_the_first_wave(where: str, field: str) -> None:
    manifest = _manifest()
    target = manifest["defaults"] if where == "defaults" else manifest["waves"][1]["functions"][0]
    target["health_policy"] = "stricter"
    with pytest.raises(InvalidRequest) as refused:
        parse_manifest(manifest, health_policies=POLICIES)
    assert str(refused.value).startswith(f"{field}: unknown health policy 'stricter'; known: low-traffic, strict")


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingConnection:
    return install_recording_connection(monkeypatch)


def test_deploy_health_policy_passes_the_name_and_only_the_fields_the_user_set(
    recorder: RecordingConnection, tmp_path: Path
) -> None:
    # given: a named policy and one field of a policy file over it
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"min_invocations": 40}))
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "d" * 64
    argv = [
        "deploy",
        "--function",
        "orders-api",
        "--image",
        image,
        "--health-policy",
        "strict",
        "--policy",
        str(policy),
    ]
    # when
    err = io.StringIO()
    code = cli_main.run(argv, out=io.StringIO(), err=err)
    # then: Validate gets the name and the one field, so the policy is not overridden by defaults
    assert code == 0, err.getvalue()
    [(_, kwargs)] = recorder.calls
    request = json.loads(kwargs["input"])
    assert request["health_policy"] == "strict" and request["health"] == {"min_invocations": 40}
    resolved = parse_request(request, health_policies=POLICIES).health
    assert (resolved.min_invocations, resolved.latency_ratio_limit) == (40, 1.1)


def test_deploy_refuses_a_malformed_policy_name_before_starting(recorder: RecordingConnection) -> None:
    err = io.StringIO()
    code = cli_main.run(
        ["deploy", "--function", "orders-api", "--image", IMAGE, "--health-policy", "no spaces"],
        out=io.StringIO(),
        err=err,
    )
    assert code == 2 and "health_policy" in err.getvalue()
    assert recorder.calls == []
