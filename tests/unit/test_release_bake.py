"""The bake between two waves: the manifest's bake_seconds, AdvanceWave asking for it, and the pure
decision over one round of verdicts (bake on, next wave, or stop and revert)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollgate.domain.judge.health import Outcome, Verdict
from rollgate.domain.release.bake import BakeProgress, BakeTarget, decide_bake
from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.shared.errors import InvalidRequest

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
