"""TargetSessions on moto: the deploy role's session acts in the target account and region."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from rollgate.aws.targets import TargetSessions
from rollgate.domain.shared.validation import Target

EU = Target("222222222222", "eu-west-1")


class Clock:
    def now(self) -> datetime:
        return datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def test_an_assumed_session_on_moto_acts_in_the_target_account_and_region(aws):
    # given the home account's STS (moto maps the assumed role's keys to the role's account)
    cache = TargetSessions(partition="aws", role_name="rollgate-deploy", clock=Clock(), sts=boto3.client("sts"))

    # when a session for the target is made
    session = cache.session(EU)

    # then its calls are the target account's, in the target region
    identity = session.client("sts").get_caller_identity()
    assert identity["Account"] == "222222222222"
    assert "assumed-role/rollgate-deploy/" in identity["Arn"]
    assert session.region_name == "eu-west-1"
