"""Deployment windows: when a wave may start, the freezes, the wait, and a release that gives up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.release.windows import WindowPolicy, next_opening, parse_windows, resolve_windows, window_status
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import parse_model

MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday


def policy(**fields: Any) -> WindowPolicy:
    return parse_model(WindowPolicy, fields, "windows")


WEEKDAYS_9_TO_16 = {"allowed": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "16:00"}]}


def test_inside_a_window_a_wave_starts_now() -> None:
    status = window_status(policy(**WEEKDAYS_9_TO_16), MONDAY_10)
    assert status.open and status.opens_at is None


def test_outside_it_waits_until_the_next_opening_in_the_wait_states_format() -> None:
    evening = MONDAY_10.replace(hour=17)
    status = window_status(policy(**WEEKDAYS_9_TO_16), evening)
    assert not status.open and not status.gave_up
    assert status.opens_at == "2026-12-08T09:00:00Z"
    friday_evening = MONDAY_10 + timedelta(days=4, hours=7)
    assert window_status(policy(**WEEKDAYS_9_TO_16), friday_evening).opens_at == "2026-12-14T09:00:00Z"


def test_a_window_past_midnight_and_at_an_offset() -> None:
    night = policy(allowed=[{"days": ["sat"], "start": "22:00", "end": "04:00", "utc_offset_minutes": 60}])
    # Saturday 22:00 at UTC+1 is 21:00 UTC; Sunday 03:00 local (02:00 UTC) still belongs to Saturday's window
    assert next_opening(night, datetime(2026, 12, 12, 21, 30, tzinfo=UTC)) == datetime(2026, 12, 12, 21, 30, tzinfo=UTC)
    sunday = datetime(2026, 12, 13, 2, 0, tzinfo=UTC)
    assert next_opening(night, sunday) == sunday
    assert next_opening(night, datetime(2026, 12, 13, 4, 0, tzinfo=UTC)) == datetime(2026, 12, 19, 21, 0, tzinfo=UTC)


def test_a_freeze_holds_a_wave_even_inside_a_window_until_it_ends() -> None:
    frozen = policy(
        **WEEKDAYS_9_TO_16,
        freezes=[{"start": "2026-12-07T00:00:00", "end": "2026-12-08T12:00:00Z", "reason": "launch week"}],
    )
    status = window_status(frozen, MONDAY_10)
    assert not status.open
    assert "frozen: launch week" in status.reason
    assert status.opens_at == "2026-12-08T12:00:00Z"  # the freeze ends inside Tuesday's window


def test_a_window_that_does_not_open_within_the_wait_gives_up_counting_from_the_first_wait() -> None:
    short = policy(**WEEKDAYS_9_TO_16, max_wait_seconds=3600)
    evening = MONDAY_10.replace(hour=17)
    assert window_status(short, evening).gave_up
    long = policy(**WEEKDAYS_9_TO_16, max_wait_seconds=86_400)
    first = window_status(long, evening)
    assert not first.gave_up and first.waited_since == evening
    # asked again a day later (a freeze added meanwhile): the wait counts from the first closed answer
    later = window_status(long, evening + timedelta(hours=16), waited_since=first.waited_since)
    assert later.open  # Tuesday 09:00: inside


def test_no_windows_is_always_open() -> None:
    assert window_status(None, MONDAY_10).open
    assert window_status(policy(), MONDAY_10.replace(hour=3)).open


def test_named_windows_resolve_and_an_unknown_name_is_refused_listing_the_known() -> None:
    named = parse_windows({"production": WEEKDAYS_9_TO_16}, "rollgate:deploymentWindows")
    assert resolve_windows("production", named) == named["production"]
    unknown = r"manifest\.windows: unknown deployment windows 'prod'; known: production"
    with pytest.raises(InvalidRequest, match=unknown):
        resolve_windows("prod", named, field="manifest.windows")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"allowed": [{"start": "9:00"}]}, "windows.allowed.0.start"),
        ({"allowed": [{"days": ["monday"]}]}, "windows.allowed.0.days.0"),
        ({"freezes": [{"start": "2026-12-08T00:00:00Z", "end": "2026-12-07T00:00:00Z"}]}, "end must be after start"),
        ({"max_wait_seconds": 30 * 86_400}, "windows.max_wait_seconds"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match="windows") as refused:
        policy(**fields)
    assert message in str(refused.value)


def test_a_release_outside_its_window_past_the_wait_ends_before_the_wave_and_puts_back_what_it_promoted() -> None:
    from rollgate.domain.release.waves import FunctionOutcome, check_window
    from tests.unit.test_release_domain import SAMPLE, _planned

    windows = {**WEEKDAYS_9_TO_16, "max_wait_seconds": 0}
    ctx = _planned({**SAMPLE, "windows": windows})
    assert ctx.plan.windows == policy(**windows)
    promoted = FunctionOutcome(
        function_name=ctx.plan.waves[0][0].function_name,
        alias=ctx.plan.waves[0][0].alias,
        wave=0,
        status=Status.PROMOTED,
        reason="promoted",
        from_version="1",
        to_version="2",
        execution_name=ctx.plan.waves[0][0].execution_name,
    )
    ctx = ctx.model_copy(update={"wave_index": 1, "wave": ctx.plan.waves[1], "outcomes": [promoted]})
    ended = check_window(ctx, now=MONDAY_10.replace(hour=20))
    assert ended.window is not None and ended.window.gave_up and ended.window.wave == 1
    assert ended.next == "revert"
    assert {o.status for o in ended.outcomes if o.wave == 1} == {Status.NOT_STARTED}
    assert check_window(ctx, now=MONDAY_10).window.open
