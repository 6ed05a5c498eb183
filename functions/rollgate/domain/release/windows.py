"""Deployment windows: when a release may change production, and the freezes when it may not.

A release manifest (or the stack's named windows, cdk.json `rollgate:deploymentWindows`, picked by
the manifest's `windows_name`) says on which days and between which hours a wave may start, and
lists freezes (a launch, a holiday) when none may. Before each wave the Release workflow asks
`window_status`: open, the wave runs; closed, the execution waits (a Wait state until `opens_at`)
and asks again, since a freeze may have been added meanwhile. A window that does not open within
`max_wait_seconds` ends the release before that wave, nothing of it started.

Times are UTC with a fixed offset per window (`utc_offset_minutes`): the Lambda runtime carries no
time-zone database, and a window's hours written for one offset stay what they say.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import Lenient, Strict, parse_model
from rollgate.domain.shared.validation import Text

#: The name of one of the stack's window policies.
WindowsName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A week and a day: the search for the next opening never needs to look further.
_HORIZON = timedelta(days=8)
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class DeploymentWindow(Strict):
    """Days and hours when a wave may start, e.g. weekdays 09:00-16:00 at UTC+1."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS[:5]), min_length=1, max_length=7)
    start: str = Field(default="00:00", pattern=_HHMM, description="HH:MM, local to the window's offset")
    end: str = Field(default="23:59", pattern=_HHMM, description="HH:MM (exclusive); before start: past midnight")
    utc_offset_minutes: int = Field(default=0, ge=-720, le=840)


class Freeze(Strict):
    """A stretch when no wave may start (a launch, an end-of-year freeze)."""

    start: datetime
    end: datetime
    reason: Text = "change freeze"

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # a time without an offset is UTC, as everywhere in Rollgate
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    @model_validator(mode="after")
    def _ordered(self) -> Freeze:
        if self.end <= self.start:
            raise ValueError(f"freeze '{self.reason}': end must be after start")
        return self


class WindowPolicy(Strict):
    """When waves may start. No `allowed` windows: any time outside a freeze."""

    allowed: list[DeploymentWindow] = Field(default_factory=list, max_length=20)
    freezes: list[Freeze] = Field(default_factory=list, max_length=50)
    max_wait_seconds: int = Field(
        default=3 * 86_400,
        ge=0,
        le=14 * 86_400,
        description="a wave that cannot start within this long ends the release before it (nothing started)",
    )


class WindowStatus(Lenient):
    """The answer before a wave: open now, or when it opens (`opens_at` in the Wait state's format)."""

    open: bool
    checked_at: datetime
    opens_at: str | None = Field(default=None, description="UTC, YYYY-MM-DDTHH:MM:SSZ: the Wait state's timestamp")
    reason: str
    waited_since: datetime | None = Field(default=None, description="when this wave first found the window closed")
    gave_up: bool = Field(default=False, description="the window does not open within max_wait_seconds")
    wave: int = Field(default=0, description="the wave (from 0) this answer is for")


def window_status(policy: WindowPolicy | None, now: datetime, *, waited_since: datetime | None = None) -> WindowStatus:
    """Is a wave allowed to start at `now`; if not, when next, and has the release waited too long?"""
    now = now.astimezone(UTC)
    if policy is None:
        return WindowStatus(open=True, checked_at=now, reason="no deployment windows")
    opens = next_opening(policy, now)
    if opens == now:
        return WindowStatus(open=True, checked_at=now, reason="inside a deployment window")
    since = waited_since or now
    limit = since + timedelta(seconds=policy.max_wait_seconds)
    why = _closed_reason(policy, now)
    if opens is None or opens > limit:
        when = f"opens {opens:%Y-%m-%d %H:%M} UTC" if opens else "does not open within a week"
        return WindowStatus(
            open=False,
            checked_at=now,
            reason=f"{why}; the window {when}, past max_wait_seconds ({policy.max_wait_seconds} s)",
            waited_since=since,
            gave_up=True,
        )
    return WindowStatus(
        open=False,
        checked_at=now,
        opens_at=opens.strftime("%Y-%m-%dT%H:%M:%SZ"),
        reason=f"{why}; waiting until {opens:%Y-%m-%d %H:%M} UTC",
        waited_since=since,
    )


def next_opening(policy: WindowPolicy, now: datetime) -> datetime | None:
    """`now` when a wave may start now, else the first instant (to the minute) it may, within a week."""
    at = now.astimezone(UTC)
    end = at + _HORIZON
    while at < end:
        frozen = next((f for f in policy.freezes if f.start <= at < f.end), None)
        if frozen is not None:
            at = frozen.end.astimezone(UTC)
            continue
        if not policy.allowed or any(_inside(w, at) for w in policy.allowed):
            return at
        at = min(_next_start(w, at) for w in policy.allowed)
    return None


def _local(window: DeploymentWindow, at: datetime) -> datetime:
    return at + timedelta(minutes=window.utc_offset_minutes)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _inside(window: DeploymentWindow, at: datetime) -> bool:
    local = _local(window, at)
    start, end, now = _hhmm(window.start), _hhmm(window.end), local.time()
    if start <= end:
        return DAYS[local.weekday()] in window.days and start <= now < end
    # past midnight: the part after midnight belongs to the day the window started
    if now >= start:
        return DAYS[local.weekday()] in window.days
    return now < end and DAYS[(local.weekday() - 1) % 7] in window.days


def _next_start(window: DeploymentWindow, at: datetime) -> datetime:
    """The first start of `window` after `at` (UTC)."""
    local = _local(window, at)
    start = _hhmm(window.start)
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        candidate = datetime.combine(day, start, tzinfo=UTC)
        if candidate > local and DAYS[day.weekday()] in window.days:
            return candidate - timedelta(minutes=window.utc_offset_minutes)
    return at + _HORIZON


def _closed_reason(policy: WindowPolicy, now: datetime) -> str:
    frozen = next((f for f in policy.freezes if f.start <= now < f.end), None)
    if frozen is not None:
        return f"frozen: {frozen.reason} (until {frozen.end:%Y-%m-%d %H:%M} UTC)"
    return "outside the deployment windows"


def resolve_windows(
    windows: WindowPolicy | str | None, named: Mapping[str, WindowPolicy] | None, *, field: str = "windows"
) -> WindowPolicy | None:
    """The manifest's windows: its own, or the stack's policy it names (InvalidRequest naming the
    field and the known names for an unknown one)."""
    if not isinstance(windows, str):
        return windows
    known = dict(named or {})
    if windows not in known:
        names = ", ".join(sorted(known)) or "none (cdk.json context rollgate:deploymentWindows)"
        raise InvalidRequest(f"{field}: unknown deployment windows {windows!r}; known: {names}")
    return known[windows]


def parse_windows(raw: Mapping[str, object] | None, where: str) -> dict[str, WindowPolicy]:
    """The stack's named window policies (from cdk.json context or the tasks' environment),
    each validated; InvalidRequest names the policy and field."""
    return {str(name): parse_model(WindowPolicy, value, f"{where}.{name}") for name, value in dict(raw or {}).items()}
