"""TargetSessions: one AssumeRole of the deploy role per target, reused until shortly before the
credentials expire by the injected clock (not the wall clock), then renewed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rollgate.aws.targets import RENEW_BEFORE, TargetSessions
from rollgate.domain.shared.validation import Target

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
EU = Target("222222222222", "eu-west-1")
US = Target("333333333333", "us-west-2")


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


class FakeSts:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        n = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"AKIA{n}",
                "SecretAccessKey": "s",
                "SessionToken": "t",
                "Expiration": self.clock.now() + timedelta(seconds=kwargs["DurationSeconds"]),
            }
        }


def sessions(clock: Clock, sts: FakeSts) -> TargetSessions:
    return TargetSessions(
        partition="aws",
        role_name="rollgate-deploy",
        clock=clock,
        sts=sts,
        session_factory=lambda credentials, region: (credentials["AccessKeyId"], region),
    )


def test_one_assume_role_per_target_reused_until_just_before_expiry_by_the_injected_clock():
    # given sessions for two targets
    clock = Clock()
    sts = FakeSts(clock)
    cache = sessions(clock, sts)

    # when each is asked for twice
    first = cache.session(EU)
    assert cache.session(EU) == first == ("AKIA1", "eu-west-1")
    assert cache.session(US) == ("AKIA2", "us-west-2")

    # then the deploy role of each target's account was assumed once
    assert [c["RoleArn"] for c in sts.calls] == [
        "arn:aws:iam::222222222222:role/rollgate-deploy",
        "arn:aws:iam::333333333333:role/rollgate-deploy",
    ]

    # when the clock nears the expiry (an hour) within the renewal margin, the role is assumed again
    clock.at = T0 + timedelta(hours=1) - RENEW_BEFORE - timedelta(seconds=1)
    assert cache.session(EU) == first
    clock.at += timedelta(seconds=2)
    assert cache.session(EU) == ("AKIA3", "eu-west-1")
    assert len(sts.calls) == 3
