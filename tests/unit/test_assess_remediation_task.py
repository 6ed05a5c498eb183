"""The Assess task's reading of an alarm event: a malformed one is refused by name, never a crash."""

from __future__ import annotations

from typing import Any

import pytest

from rollgate.tasks.remediate.assess_remediation import _alarm_arn

_ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"


@pytest.mark.parametrize("resources", [{"arn": "x"}, _ALARM_ARN, [], None, [7]])
def test_malformed_alarm_resources_give_no_arn_instead_of_a_crash(resources: Any) -> None:
    event = {"detail-type": "CloudWatch Alarm State Change", "resources": resources, "detail": {}}
    assert _alarm_arn(event) is None


def test_an_event_that_is_not_an_alarm_has_no_arn() -> None:
    assert _alarm_arn({"function_name": "orders-api"}) is None
    assert _alarm_arn(["not", "an", "object"]) is None
