"""The gates' decisions, on fakes: what a user would notice in the outcome, the alias and the ledger."""

from __future__ import annotations

import pytest

from rollgate.domain.deploy import outcome, start
from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.errors import DeploymentInProgress, InvalidRequest, TransientAwsError
from rollgate.domain.shared.models import DeploymentResult, Strategy
from rollgate.domain.shared.ports import EventSourceMapping, Invocation
from tests.unit.conftest import V1_ZIP, World, drive, request_for
from tests.unit.fakes import FakeLambda


def alias_of(world: World) -> tuple[str, dict[str, float]]:
    routing = world.lambda_api.get_alias("orders-api", "live")
    return routing.version, routing.additional_weights


# --------------------------------------------------------------------------- gate 1
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"function_name": None}, "function_name"),
        ({"strategy": {"type": "blue-green", "steps": [10], "interval_seconds": 60}}, "strategy.type"),
        ({"strategy": {"type": "linear", "steps": [10, 5], "interval_seconds": 60}}, "strategy.steps"),
        ({"strategy": {"type": "linear", "steps": [10, 120], "interval_seconds": 60}}, "strategy.steps"),
        ({"strategy": {"type": "canary", "steps": [10], "interval_seconds": -5}}, "strategy.interval_seconds"),
        ({"colour": "blue"}, "colour"),
        ({"alias": "$LATEST"}, "alias"),
        ({"artifact": {"bucket": "b"}}, "artifact"),
    ],
)
def test_bad_request_names_the_field_and_takes_no_lease(world: World, change: dict, field: str) -> None:
    # given a request with one bad field
    body = request_for(**change)
    body = {k: v for k, v in body.items() if v is not None}
    # when it is validated
    with pytest.raises(InvalidRequest) as raised:
        start.start_deployment(body, {"Name": "x"}, ledger=world.ledger, clock=world.clock, lease_seconds=60)
    # then the message names the field and nothing was locked
    assert str(raised.value).startswith(field) or f"{field}:" in str(raised.value)
    assert world.ledger.leases == {}


def test_strategy_shorthand() -> None:
    assert Strategy.parse_shorthand("canary:10:300").steps == [10]
    assert Strategy.parse_shorthand("linear:25:60").steps == [25, 50, 75]
    assert Strategy.parse_shorthand("all-at-once").steps == []
    with pytest.raises(InvalidRequest, match="strategy"):
        Strategy.parse_shorthand("canary:150:300")
    with pytest.raises(InvalidRequest, match="unknown strategy"):
        Strategy.parse_shorthand("blue-green")


def test_second_deployment_of_the_alias_is_refused_with_the_holder(world: World) -> None:
    start.start_deployment(request_for(), {"Name": "first"}, ledger=world.ledger, clock=world.clock, lease_seconds=600)
    with pytest.raises(DeploymentInProgress, match="first"):
        start.start_deployment(
            request_for(), {"Name": "second"}, ledger=world.ledger, clock=world.clock, lease_seconds=600
        )


def test_lease_outlives_the_longest_possible_deployment(world: World) -> None:
    body = request_for(
        strategy={"type": "linear", "steps": [10, 20, 30, 40, 50, 60, 70, 80, 90], "interval_seconds": 600},
        watch_seconds=1800,
    )
    start.start_deployment(body, {"Name": "long"}, ledger=world.ledger, clock=world.clock, lease_seconds=3600)
    lease = world.ledger.leases[("orders-api", "live")]
    assert (lease.expires_at - lease.acquired_at).total_seconds() >= 9 * 600 + 1800 + 900


# --------------------------------------------------------------------------- whole flows
def test_good_release_is_promoted_and_the_lease_released(world: World) -> None:
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED"
    assert (result["from_version"], result["to_version"]) == ("1", "2")
    assert alias_of(world) == ("2", {})
    assert world.ledger.leases == {}
    assert world.events.published[-1][0] == "Deployment Promoted"
    assert set(result["evidence"]) >= {"preflight", "update", "publish", "smoke", "canary", "watch"}
    assert result["time_to_detect_seconds"] is None


def test_unhealthy_canary_rolls_back_to_the_old_version(world: World) -> None:
    world.verdicts = [Outcome.UNHEALTHY]
    result = drive(world, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert alias_of(world) == ("1", {})
    assert "unhealthy during the canary" in result["reason"]
    assert world.ledger.leases == {}
    # the first judgement comes one metric period (60 s) after the first canary traffic
    assert result["time_to_detect_seconds"] == 60
    assert result["time_to_recover_seconds"] == 0


def test_breach_after_promotion_rolls_back(world: World) -> None:
    # the canary's judgements are healthy for the whole 300 s bake, then the watch finds a breach
    world.verdicts = [Outcome.HEALTHY] * 5 + [Outcome.UNHEALTHY]
    result = drive(world, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert "after promotion" in result["reason"]
    assert alias_of(world) == ("1", {})


def test_inconclusive_is_never_healthy(world: World) -> None:
    world.verdicts = [Outcome.INCONCLUSIVE] * 50
    body = request_for(health={"on_inconclusive": "extend", "max_extension_seconds": 120})
    result = drive(world, body)
    assert result["status"] == "ROLLED_BACK"
    assert "Too few samples is never healthy" in result["reason"]


def test_inconclusive_then_healthy_is_promoted_after_extension(world: World) -> None:
    world.verdicts = [Outcome.INCONCLUSIVE] * 6 + [Outcome.HEALTHY] * 10
    result = drive(world, request_for(health={"on_inconclusive": "extend", "max_extension_seconds": 300}))
    assert result["status"] == "PROMOTED"
    canary = result["evidence"]["canary"]
    assert canary  # the last verdict's checks are kept as evidence


def test_linear_strategy_walks_every_step(world: World) -> None:
    seen: list[dict[str, float]] = []
    original = world.lambda_api.update_alias

    def spy(*args, **kwargs):
        seen.append(dict(kwargs["additional_weights"]))
        return original(*args, **kwargs)

    world.lambda_api.update_alias = spy  # type: ignore[method-assign]
    result = drive(world, request_for(strategy={"type": "linear", "steps": [25, 50, 75], "interval_seconds": 60}))
    assert result["status"] == "PROMOTED"
    # the promotion keeps a 5% holdback on v1 for the watch, then moves it: 100% v2
    assert seen == [{"2": 0.25}, {"2": 0.5}, {"2": 0.75}, {"1": 0.05}, {}]


def test_missing_required_environment_is_rejected_at_preflight_naming_it(world: World) -> None:
    result = drive(world, request_for(required_environment=["PAYMENTS_URL", "TABLE"]))
    assert result["status"] == "REJECTED"
    assert "variable(s) PAYMENTS_URL not set" in result["reason"]  # TABLE is set, so only PAYMENTS_URL is named
    assert world.lambda_api.publishes == 0 and world.lambda_api.alias_updates == 0
    assert world.ledger.leases == {}


def test_environment_given_in_the_request_satisfies_the_requirement(world: World) -> None:
    result = drive(world, request_for(required_environment=["PAYMENTS_URL"], environment={"PAYMENTS_URL": "https://p"}))
    assert result["status"] == "PROMOTED"
    assert world.lambda_api.get_config("orders-api", "2").environment["PAYMENTS_URL"] == "https://p"


def test_trigger_that_bypasses_the_alias_rejects(world: World) -> None:
    world.lambda_api.functions["orders-api"].mappings.append(
        EventSourceMapping("uuid-1", "arn:aws:kinesis:us-east-1:1:stream/orders", "arn:fn:orders-api", "Enabled")
    )
    result = drive(world, request_for())
    assert result["status"] == "REJECTED"
    assert "bypass alias live" in result["reason"]


def test_missing_artifact_rejects(world: World) -> None:
    result = drive(world, request_for(artifact={"bucket": "artifacts", "key": "nope.zip"}))
    assert result["status"] == "REJECTED"
    assert "does not exist" in result["reason"]


def test_failed_code_update_rejects_with_lambdas_reason(world: World) -> None:
    world.lambda_api.functions["orders-api"].fail_next_update = "Unzipped size must be smaller than 262144000 bytes"
    world.lambda_api.update_polls = 0
    result = drive(world, request_for())
    assert result["status"] == "REJECTED"
    assert "Unzipped size" in result["reason"]
    assert alias_of(world) == ("1", {})


def test_update_that_never_settles_times_out(world: World) -> None:
    world.lambda_api.update_polls = 1000
    result = drive(world, request_for(update_polling={"interval_seconds": 5, "max_polls": 4}))
    assert result["status"] == "REJECTED"
    assert "UpdateTimedOut" in result["reason"]


def test_smoke_failure_rejects_before_any_traffic(world: World) -> None:
    world.lambda_api.responder = lambda name, version, payload: Invocation(
        200, "Unhandled", {"errorType": "Runtime.ImportModuleError", "errorMessage": "boom"}
    )
    result = drive(world, request_for())
    assert result["status"] == "REJECTED"
    assert "Runtime.ImportModuleError" in result["reason"]
    assert world.lambda_api.alias_updates == 0


def test_rerunning_a_finished_request_publishes_nothing_and_moves_no_traffic(world: World) -> None:
    first = drive(world, request_for(), execution="first")
    publishes, alias_updates = world.lambda_api.publishes, world.lambda_api.alias_updates
    second = drive(world, request_for(), execution="second")
    assert first["status"] == second["status"] == "PROMOTED"
    assert "already live" in second["reason"]
    assert (world.lambda_api.publishes, world.lambda_api.alias_updates) == (publishes, alias_updates)
    assert second["to_version"] == first["to_version"]


def test_alias_changed_outside_rollgate_aborts_and_restores(world: World) -> None:
    # given someone moves the alias's primary to the canary while the canary bakes
    original_advance = world.clock.advance

    def bake_and_meddle(seconds: float) -> None:
        original_advance(seconds)
        fn = world.lambda_api.functions["orders-api"]
        if fn.aliases["live"].additional_weights:
            fn.aliases["live"] = fn.aliases["live"].__class__("live", "2", {}, "rev-x")

    world.clock.advance = bake_and_meddle  # type: ignore[method-assign]
    # when the deployment judges the canary
    result = drive(world, request_for())
    # then it stops instead of fighting, and puts the alias back
    assert result["status"] == "ROLLED_BACK"
    assert "changed outside Rollgate" in result["reason"]
    assert alias_of(world) == ("1", {})


def test_abort_flag_stops_the_canary(world: World) -> None:
    world.ledger.aborts[("orders-api", "live")] = "alarm orders-errors fired"
    result = drive(world, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert "alarm orders-errors fired" in result["reason"]


def test_outcome_event_carries_the_failed_checks(world: World) -> None:
    world.verdicts = [Outcome.UNHEALTHY]
    drive(world, request_for())
    detail_type, detail = world.events.published[-1]
    assert detail_type == "Deployment Rolled Back"
    assert detail["status"] == "ROLLED_BACK" and detail["from_version"] == "1" and detail["to_version"] == "2"
    assert detail["reason"].startswith("rolled back to v1")
    assert detail["failed_checks"] == [
        {"gate": "canary", "check": "health:errors", "detail": "canary errors 9/40 vs stable 0/400"}
    ]


def test_alias_left_mid_shift_is_refused_and_left_alone(world: World) -> None:
    # given an alias still split from a deployment that never finished
    fn = world.lambda_api.functions["orders-api"]
    fn.aliases["live"] = fn.aliases["live"].__class__("live", "1", {"7": 0.1}, "rev-split")
    result = drive(world, request_for())
    assert result["status"] == "REJECTED"
    assert "mid-shift" in result["reason"] and "v7 10%" in result["reason"]
    assert alias_of(world) == ("1", {"7": 0.1})
    assert world.lambda_api.publishes == 0


# --------------------------------------------------------------------------- provisioned concurrency
def _with_live_allocation(world: World, executions: int = 3) -> None:
    from rollgate.domain.shared.ports import ProvisionedConcurrencyConfig

    world.lambda_api.provisioned[("orders-api", "1")] = ProvisionedConcurrencyConfig(
        "1", executions, executions, executions, "READY"
    )


def _allocations_seen_at_each_alias_move(world: World) -> list[set[str]]:
    """Which versions had a READY allocation each time the alias moved."""
    seen: list[set[str]] = []
    original = world.lambda_api.update_alias

    def spy(*args, **kwargs):
        seen.append({q for (_, q), c in world.lambda_api.provisioned.items() if c.status == "READY"})
        return original(*args, **kwargs)

    world.lambda_api.update_alias = spy  # type: ignore[method-assign]
    return seen


def test_the_live_allocation_is_carried_to_the_new_version_ready_before_traffic(world: World) -> None:
    # given v1 with 3 provisioned environments, and a new version whose allocation takes 4 polls
    _with_live_allocation(world)
    world.lambda_api.pc_ready_after = 4
    seen = _allocations_seen_at_each_alias_move(world)
    result = drive(world, request_for())
    # then v2 had its 3 READY before the first shift, and v1's were released after the promotion
    assert result["status"] == "PROMOTED"
    assert world.lambda_api.pc_puts == [("2", 3)]
    assert "2" in seen[0]
    assert world.lambda_api.pc_deletes == ["1"]
    assert world.lambda_api.provisioned_concurrency_versions("orders-api") == ["2"]
    details = [e["detail"] for e in result["evidence"]["concurrency"]]
    assert any("READY after 4 poll(s)" in d for d in details) and any("released v1" in d for d in details)


def test_a_requested_allocation_is_made_even_when_the_live_version_has_none(world: World) -> None:
    result = drive(world, request_for(provisioned_concurrency={"executions": 5, "poll_interval_seconds": 10}))
    assert result["status"] == "PROMOTED" and world.lambda_api.pc_puts == [("2", 5)]
    assert world.lambda_api.pc_deletes == []  # v1 had nothing to release


def test_a_rollback_releases_the_new_allocation_and_keeps_the_old(world: World) -> None:
    _with_live_allocation(world)
    world.verdicts = [Outcome.UNHEALTHY]
    result = drive(world, request_for())
    assert result["status"] == "ROLLED_BACK"
    assert world.lambda_api.pc_deletes == ["2"]
    assert world.lambda_api.provisioned_concurrency_versions("orders-api") == ["1"]
    assert alias_of(world) == ("1", {})


def test_an_allocation_not_ready_in_time_rolls_back_before_any_traffic(world: World) -> None:
    world.lambda_api.pc_ready_after = 1_000
    body = request_for(provisioned_concurrency={"executions": 5, "poll_interval_seconds": 15, "max_polls": 4})
    result = drive(world, body)
    assert result["status"] == "ROLLED_BACK"
    assert "ConcurrencyNotReady" in result["reason"] and "not READY after 4 polls (60 s)" in result["reason"]
    assert world.lambda_api.alias_updates == 0 and world.lambda_api.pc_deletes == ["2"]


def test_a_failed_allocation_rolls_back_with_lambdas_reason(world: World) -> None:
    world.lambda_api.pc_outcome = "FAILED"
    result = drive(world, request_for(provisioned_concurrency={"executions": 5}))
    assert result["status"] == "ROLLED_BACK" and "no capacity" in result["reason"]
    assert world.lambda_api.alias_updates == 0


def test_provisioned_concurrency_on_the_alias_itself_is_rejected(world: World) -> None:
    from rollgate.domain.shared.ports import ProvisionedConcurrencyConfig

    world.lambda_api.provisioned[("orders-api", "live")] = ProvisionedConcurrencyConfig("live", 3, 3, 3, "READY")
    result = drive(world, request_for())
    assert result["status"] == "REJECTED"
    assert "cannot split an alias that has it" in result["reason"]
    assert world.lambda_api.publishes == 0


def test_the_old_allocation_stays_while_another_alias_routes_to_it(world: World) -> None:
    from rollgate.domain.shared.ports import AliasRouting

    _with_live_allocation(world)
    world.lambda_api.functions["orders-api"].aliases["beta"] = AliasRouting("beta", "1", {}, "rev-b")
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED" and world.lambda_api.pc_deletes == []
    assert any("beta still route" in e["detail"] for e in result["evidence"]["concurrency"])


# --------------------------------------------------------------------------- container images
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "c" * 64


def _image_function(world: World) -> None:
    from dataclasses import replace

    fn = world.lambda_api.functions["orders-api"]
    old = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "0" * 64
    fn.latest = replace(fn.latest, package_type="Image", image_uri=old, code_sha256="0" * 64)
    fn.versions["1"] = replace(fn.versions["1"], package_type="Image", image_uri=old, code_sha256="0" * 64)


def test_an_image_by_digest_is_released_and_verified(world: World) -> None:
    _image_function(world)
    world.images.present.add(IMAGE)
    result = drive(world, request_for(artifact={"image_uri": IMAGE}))
    assert result["status"] == "PROMOTED"
    assert result["code_sha256"] == "c" * 64
    assert world.lambda_api.functions["orders-api"].versions["2"].image_uri == IMAGE
    assert world.lambda_api.code_updates == [{"image_uri": IMAGE}]


def test_an_image_missing_from_its_repository_is_rejected(world: World) -> None:
    _image_function(world)
    result = drive(world, request_for(artifact={"image_uri": IMAGE}))
    assert result["status"] == "REJECTED" and "does not exist" in result["reason"]
    assert world.lambda_api.code_updates == []


def test_an_image_for_a_zip_function_is_rejected(world: World) -> None:
    world.images.present.add(IMAGE)
    result = drive(world, request_for(artifact={"image_uri": IMAGE}))
    assert result["status"] == "REJECTED" and "an image cannot be deployed to it" in result["reason"]


def test_a_redriven_allocation_step_asks_once(world: World) -> None:
    # given a deployment whose ProvisionConcurrency ran, then ran again (a redrive of the state)
    from rollgate.domain.deploy import concurrency, preflight, publish, update
    from rollgate.domain.deploy.start import start_deployment
    from rollgate.domain.shared.models import DeploymentContext
    from tests.unit.fakes import ARTIFACTS

    ctx = start_deployment(
        request_for(provisioned_concurrency={"executions": 4}),
        {"Name": "x", "Id": "arn:x"},
        ledger=world.ledger,
        clock=world.clock,
        lease_seconds=600,
    )
    api = world.lambda_api
    baseline = preflight.run_preflight(ctx, lambda_api=api, artifacts=ARTIFACTS, probes=world.probes, clock=world.clock)
    ctx = ctx.model_copy(update={"baseline": baseline})
    progress = update.converge_latest(ctx, lambda_api=api, clock=world.clock)
    while progress.status == "InProgress":
        ctx = ctx.model_copy(update={"update": progress})
        progress = update.converge_latest(ctx, lambda_api=api, clock=world.clock)
    ctx = ctx.model_copy(update={"version": publish.publish(ctx, lambda_api=api, clock=world.clock)})
    assert isinstance(ctx, DeploymentContext)
    # when the allocation step runs twice from the same input
    first = concurrency.converge_concurrency(ctx, lambda_api=api)
    again = concurrency.converge_concurrency(ctx, lambda_api=api)
    # then the allocation was requested once; the second answer is a fresh read of it
    assert api.pc_puts == [("2", 4)]
    assert first.status == "InProgress" and again.status in ("InProgress", "Ready")


# --------------------------------------------------------------------------- idempotent entry and exit
def test_a_retried_validate_re_enters_its_own_lease(world: World) -> None:
    # given Validate took the lease and Step Functions retries it (a timeout after the write)
    execution = {"Name": "exec-1", "Id": "arn:exec:exec-1", "StartTime": "2026-03-01T10:00:00.000Z"}
    first = start.start_deployment(request_for(), execution, ledger=world.ledger, clock=world.clock, lease_seconds=600)
    world.clock.advance(7)
    # when the retry runs, later on the clock
    again = start.start_deployment(request_for(), execution, ledger=world.ledger, clock=world.clock, lease_seconds=600)
    # then it is the same deployment, holding the one lease, not locked out by itself
    assert again.deployment_id == first.deployment_id == "20260301T100000Z-exec-1"
    assert world.ledger.leases[("orders-api", "live")].holder == first.deployment_id


def test_a_validate_that_fails_after_writing_the_lease_gives_it_back(world: World, monkeypatch) -> None:
    real_acquire = world.ledger.acquire_lease

    def written_then_failed(lease):
        real_acquire(lease)
        raise TransientAwsError("dynamodb:DeleteItem stale abort flag: read timeout")

    monkeypatch.setattr(world.ledger, "acquire_lease", written_then_failed)
    with pytest.raises(TransientAwsError):
        start.start_deployment(request_for(), {"Name": "x"}, ledger=world.ledger, clock=world.clock, lease_seconds=60)
    assert world.ledger.leases == {}


def _retried_by_step_functions(world: World, monkeypatch) -> list[DeploymentResult]:
    """Record as the state machine runs it: a transient failure makes the state run again."""
    results: list[DeploymentResult] = []
    real_conclude = outcome.conclude

    def record_state(ctx, **deps):
        try:
            results.append(real_conclude(ctx, **deps))
        except TransientAwsError:
            world.clock.advance(2)
            results.append(real_conclude(ctx, **deps))
        return results[-1]

    monkeypatch.setattr(outcome, "conclude", record_state)
    return results


def _failing_once(monkeypatch, target: object, name: str) -> None:
    real = getattr(target, name)
    failures = [TransientAwsError(f"{name}: throttled")]

    def once(*args):
        if failures:
            raise failures.pop()
        return real(*args)

    monkeypatch.setattr(target, name, once)


@pytest.mark.parametrize("failing", ["put_deployment", "publish", "release_lease"])
def test_a_retried_record_writes_once_announces_once_and_releases(world: World, monkeypatch, failing: str) -> None:
    # given one of Record's three steps fails once and the state is retried
    results = _retried_by_step_functions(world, monkeypatch)
    _failing_once(monkeypatch, world.events if failing == "publish" else world.ledger, failing)
    # when the deployment concludes
    result = drive(world, request_for())
    # then one record, one event, no lease; the retry concluded on the record the first attempt wrote
    assert result["status"] == "PROMOTED"
    assert [t for t, _ in world.events.published] == ["Deployment Promoted"]
    assert len(world.ledger.deployments) == 1
    assert world.ledger.deployments[result["deployment_id"]]["event_published"] == "PROMOTED"
    assert world.ledger.leases == {}
    assert len({r.finished_at for r in results}) == 1


def test_a_rollback_whose_restored_version_cannot_be_smoke_tested_is_still_a_rollback(world: World) -> None:
    # given an unhealthy canary, and the restored version's smoke test cannot be invoked
    world.verdicts = [Outcome.UNHEALTHY]
    responder = world.lambda_api.responder

    def denied_on_the_old_version(function_name, qualifier, payload):
        if qualifier == "1":
            raise TransientAwsError("lambda:Invoke orders-api:1: throttled past the retries")
        return responder(function_name, qualifier, payload)

    world.lambda_api.responder = denied_on_the_old_version
    result = drive(world, request_for())
    # then the alias is back and verified, and the outcome says the restored version is in doubt
    assert result["status"] == "ROLLED_BACK"
    assert alias_of(world) == ("1", {})
    assert "alias restored and verified" in result["reason"] and "FAILED ITS SMOKE TEST" in result["reason"]
    assert "ROLLBACK FAILED" not in result["reason"]
    assert world.ledger.leases == {}


# --------------------------------------------------------------------------- preflight sees every invoker
class _SeesInvokers(FakeLambda):
    """A Lambda adapter that can read the resource policy, function URLs and the managed tag."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: list[dict] = []
        self.urls: list[str | None] = []
        self.managed = True

    def resource_policy(self, function_name):
        return list(self.policy)

    def function_url_qualifiers(self, function_name):
        return list(self.urls)

    def is_managed(self, function_name):
        return self.managed


@pytest.fixture
def invokers_world(world: World) -> World:
    sees = _SeesInvokers()
    sees.add_function("orders-api", V1_ZIP, env={"TABLE": "orders"})
    world.lambda_api = sees
    return world


def _grant(resource: str, sid: str = "api") -> dict:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": resource,
        "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:eu-west-1:123456789012:abc/*"}},
    }


FN_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"


def test_invokers_through_the_alias_pass_preflight(invokers_world: World) -> None:
    invokers_world.lambda_api.policy = [_grant(f"{FN_ARN}:live")]
    invokers_world.lambda_api.urls = ["live"]
    result = drive(invokers_world, request_for())
    assert result["status"] == "PROMOTED"
    checks = [e["check"] for e in result["evidence"]["preflight"]]
    assert "invokers_use_alias" in checks


@pytest.mark.parametrize(
    ("policy", "urls", "named"),
    [
        ([_grant(FN_ARN)], [], ["'api'", "apigateway.amazonaws.com", "--qualifier live"]),
        ([_grant(f"{FN_ARN}:$LATEST", "sns")], [], ["'sns'", ":$LATEST"]),
        ([], [None], ["function URL on orders-api (unqualified)", "create-function-url-config"]),
        ([], ["beta"], ["function URL on orders-api:beta"]),
    ],
)
def test_an_invoker_bypassing_the_alias_is_rejected_by_name(
    invokers_world: World, policy: list, urls: list, named: list[str]
) -> None:
    invokers_world.lambda_api.policy = policy
    invokers_world.lambda_api.urls = urls
    result = drive(invokers_world, request_for())
    assert result["status"] == "REJECTED"
    assert "bypass alias live" in result["reason"]
    for text in named:
        assert text in result["reason"]
    assert invokers_world.lambda_api.get_alias("orders-api", "live").version == "1"
    assert invokers_world.lambda_api.publishes == 0


def test_an_unmanaged_function_is_rejected_at_preflight(invokers_world: World) -> None:
    invokers_world.lambda_api.managed = False
    result = drive(invokers_world, request_for())
    assert result["status"] == "REJECTED"
    assert "not managed by Rollgate: give it the stack's managed-function tag" in result["reason"]
    assert invokers_world.ledger.leases == {}
