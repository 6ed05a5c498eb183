"""The bake between two waves: the manifest's bake_seconds, AdvanceWave asking for it, and the pure
decision over one round of verdicts (bake on, next wave, or stop and revert)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.judge.health import Outcome, Verdict
from rollgate.domain.release.bake import BakeProgress, BakeTarget, decide_bake
from rollgate.domain.release.bake_gate import continue_bake
from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.release.waves import PlannedDeployment, ReleaseContext, ReleasePlan, ReleaseRequest
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.records import FunctionOutcome
from tests.unit.conftest import World, request_for

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _manifest(**overrides: Any) -> dict[str, Any]:
    wave = {"functions": [{"function_name": "orders-api", "artifact": {"bucket": "shop-builds", "key": "k.zip"}}]}
    second = {"functions": [{"function_name": "payments-api", "artifact": {"bucket": "shop-builds", "key": "p.zip"}}]}
    manifest: dict[str, Any] = {"application": "shop", "waves": [wave, second]}
    manifest.update(overrides)
    return manifest


def _target(name: str) -> BakeTarget:
    return BakeTarget(function_name=name, alias="live", from_version="1", to_version="2", deployed_at=T0, request={})


def _progress(seconds: int = 600) -> BakeProgress:
    return BakeProgress(
        wave=0,
        started_at=T0,
        bake_until=T0 + timedelta(seconds=seconds),
        wait_seconds=60,
        after="wave",
        next="bake",
        targets=[_target("orders-api"), _target("payments-api")],
    )


def _verdict(outcome: Outcome, summary: str = "") -> Verdict:
    return Verdict(outcome=outcome, summary=summary or outcome.value)


def test_bake_seconds_defaults_to_zero_and_a_wave_overrides_the_default() -> None:
    # given a manifest without bake_seconds, and one with a default and one wave's own
    plain = parse_manifest(_manifest())
    baked = parse_manifest(_manifest(defaults={"bake_seconds": 900}))
    # then the default is 0 (today's behaviour) and a wave's own value wins
    assert plain.defaults.bake_seconds == 0
    assert baked.defaults.bake_seconds == 900
    data = _manifest()
    data["waves"][0]["bake_seconds"] = 120
    assert parse_manifest(data).waves[0].bake_seconds == 120


@pytest.mark.parametrize("value", [-1, 86_401])
def test_bake_seconds_is_bounded_naming_the_field(value: int) -> None:
    with pytest.raises(InvalidRequest, match=r"defaults\.bake_seconds"):
        parse_manifest(_manifest(defaults={"bake_seconds": value}))


def test_an_unhealthy_function_stops_the_bake_naming_it() -> None:
    # given a bake with two functions, one of them UNHEALTHY in this round
    verdicts = [_verdict(Outcome.HEALTHY), _verdict(Outcome.UNHEALTHY, "error rate 30% vs 0.5%")]
    # when the bake decides
    decided = decide_bake(_progress(), verdicts, T0 + timedelta(seconds=120), 60)
    # then the release stops before its next wave, saying which function and why
    assert decided.next == "revert"
    assert decided.conclusion == "unhealthy"
    assert "payments-api:live v2 UNHEALTHY: error rate 30% vs 0.5%" in (decided.reason or "")
    assert "orders-api" not in (decided.reason or "")


def test_the_bake_goes_on_until_its_end_waiting_at_most_a_period() -> None:
    verdicts = [_verdict(Outcome.HEALTHY), _verdict(Outcome.INCONCLUSIVE)]
    early = decide_bake(_progress(), verdicts, T0 + timedelta(seconds=60), 60)
    assert (early.next, early.wait_seconds) == ("bake", 60)
    near_end = decide_bake(_progress(), verdicts, T0 + timedelta(seconds=590), 60)
    assert (near_end.next, near_end.wait_seconds) == ("bake", 10)


def test_a_bake_that_ends_healthy_lets_the_next_wave_start_verified() -> None:
    verdicts = [_verdict(Outcome.HEALTHY), _verdict(Outcome.HEALTHY)]
    decided = decide_bake(_progress(), verdicts, T0 + timedelta(seconds=600), 60)
    assert decided.next == "wave"
    assert decided.conclusion == "verified"


def test_a_bake_that_ends_inconclusive_is_never_called_healthy() -> None:
    verdicts = [_verdict(Outcome.HEALTHY), _verdict(Outcome.INCONCLUSIVE)]
    decided = decide_bake(_progress(), verdicts, T0 + timedelta(seconds=600), 60)
    assert decided.next == "wave"
    assert decided.conclusion == "unverified"
    assert "not every function HEALTHY" in (decided.reason or "")


# --------------------------------------------------------------------------- JudgeBake on the release
def _release(world: World, *, atomic: bool) -> ReleaseContext:
    """Wave 1 (orders-api, payments-api) promoted to v2 and baking; wave 2 (inventory-api) next."""
    names = [["orders-api", "payments-api"], ["inventory-api"]]
    waves = [
        [
            PlannedDeployment(
                wave=w, function_name=n, alias="live", execution_name=f"r-{w}-{n}", request=request_for(function_name=n)
            )
            for n in wave
        ]
        for w, wave in enumerate(names)
    ]
    plan = ReleasePlan(application="shop", atomic=atomic, max_concurrency=2, waves=waves, bake_seconds=[600, 0])
    outcomes = [
        FunctionOutcome(function_name=n, alias="live", wave=0, status=Status.PROMOTED, from_version="1", to_version="2")
        for n in names[0]
    ]
    targets = [
        BakeTarget(
            function_name=n,
            alias="live",
            from_version="1",
            to_version="2",
            deployed_at=world.clock.now() - timedelta(minutes=20),
            request=request_for(function_name=n),
        )
        for n in names[0]
    ]
    bake = BakeProgress(
        wave=0,
        started_at=world.clock.now(),
        bake_until=world.clock.now() + timedelta(seconds=600),
        wait_seconds=60,
        after="wave",
        next="bake",
        targets=targets,
    )
    return ReleaseContext(
        request=ReleaseRequest(manifest={"application": "shop"}),
        release_id="r",
        execution_name="r",
        started_at=world.clock.now(),
        plan=plan,
        wave_index=1,
        wave=waves[1],
        outcomes=outcomes,
        next="bake",
        bake_after="wave",
        bake=bake,
    )


def _judge_in_turn(*verdicts: Verdict) -> Any:
    """A judge answering `verdicts` in turn: one per function of the bake, in the bake's order."""
    answers = iter(verdicts)
    return lambda window, policy: next(answers)


@pytest.mark.parametrize(("atomic", "reverted"), [(True, {"orders-api", "payments-api"}), (False, {"payments-api"})])
def test_an_unhealthy_bake_stops_the_release_and_reverts_as_a_failed_wave(
    world: World, atomic: bool, reverted: set[str]
) -> None:
    # given wave 1 baking, and payments-api's new version now failing
    ctx = _release(world, atomic=atomic)
    regressed = _judge_in_turn(
        _verdict(Outcome.HEALTHY), _verdict(Outcome.UNHEALTHY, "error rate 12% vs 0.4% before the deployment")
    )
    world.clock.advance(120)
    # when JudgeBake runs
    after = continue_bake(ctx, probes=world.probes, clock=world.clock, judge_fn=regressed)
    # then wave 2 never starts, and what is reverted is what a failed wave would revert
    assert after.next == "revert"
    assert {t.function_name for t in after.revert} == reverted
    assert {o.function_name: o.status for o in after.outcomes}["inventory-api"] is Status.NOT_STARTED
    assert "payments-api:live v2 UNHEALTHY" in (after.revert_reason or "")
    assert [b.conclusion for b in after.bakes] == ["unhealthy"]


def test_a_bake_in_progress_waits_and_keeps_its_verdicts(world: World) -> None:
    ctx = _release(world, atomic=True)
    world.clock.advance(60)
    after = continue_bake(
        ctx, probes=world.probes, clock=world.clock, judge_fn=_judge_in_turn(*[_verdict(Outcome.HEALTHY)] * 2)
    )
    assert after.bake is not None and after.bake.next == "bake"
    assert [len(t.verdicts) for t in after.bake.targets] == [1, 1]
    assert after.bakes == [] and after.revert == []
