"""ports.AlarmProbe over CloudWatch DescribeAlarms (metric and composite alarms)."""

from __future__ import annotations

from typing import Any

from rollgate.aws.errors import translate_client_errors
from rollgate.domain.judge.health import AlarmObservation
from rollgate.domain.shared.errors import NotFoundError
from rollgate.domain.shared.ports import AlarmMetric

_NAMES_PER_CALL = 100  # DescribeAlarms takes at most 100 AlarmNames


class CloudWatchAlarmProbe:
    """ports.AlarmProbe over `boto3.client("cloudwatch")`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def states(self, alarm_names: list[str]) -> list[AlarmObservation]:
        """Current state of each alarm, in the order asked (state_at_preflight = state_now).
        Raises NotFoundError naming every alarm that does not exist."""
        found = self._describe(alarm_names)
        return [
            AlarmObservation(
                name=name,
                state_at_preflight=found[name]["StateValue"],
                state_now=found[name]["StateValue"],
                reason=found[name].get("StateReason"),
            )
            for name in found
        ]

    def watched_metrics(self, alarm_names: list[str]) -> dict[str, AlarmMetric]:
        """The metric of each single-metric alarm (MetricName, Namespace, Dimensions)."""
        return {
            name: AlarmMetric(
                namespace=str(alarm["Namespace"]),
                metric_name=str(alarm["MetricName"]),
                dimensions={d["Name"]: str(d["Value"]) for d in alarm.get("Dimensions", [])},
            )
            for name, alarm in self._describe(alarm_names).items()
            if alarm.get("MetricName") and alarm.get("Namespace")
        }

    def _describe(self, alarm_names: list[str]) -> dict[str, dict[str, Any]]:
        """name -> DescribeAlarms entry, in the order asked; NotFoundError names the missing."""
        names = list(dict.fromkeys(alarm_names))
        if not names:
            return {}
        found: dict[str, dict[str, Any]] = {}
        paginator = self._client.get_paginator("describe_alarms")
        for offset in range(0, len(names), _NAMES_PER_CALL):
            batch = names[offset : offset + _NAMES_PER_CALL]
            with translate_client_errors(f"cloudwatch:DescribeAlarms {', '.join(batch)}"):
                for page in paginator.paginate(AlarmNames=batch, AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
                    for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                        found[alarm["AlarmName"]] = alarm
        missing = [name for name in names if name not in found]
        if missing:
            raise NotFoundError(f"CloudWatch alarm(s) not found: {', '.join(missing)}")
        return {name: found[name] for name in names}


class CloudWatchAlarmTags:
    """Tags of an alarm: how an alarm with no FunctionName dimension says which function it guards."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def tags(self, alarm_arn: str | None) -> dict[str, str]:
        if not alarm_arn:
            return {}
        with translate_client_errors(f"cloudwatch:ListTagsForResource {alarm_arn}"):
            response = self._client.list_tags_for_resource(ResourceARN=alarm_arn)
        return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}
