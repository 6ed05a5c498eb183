"""CloudWatchAlarmProbe.watched_metrics: the metric each single-metric alarm watches, so the judge
can split an alias-level alarm by version; metric-math alarms cannot be split and are left out."""

from __future__ import annotations

from rollgate.aws.alarms import CloudWatchAlarmProbe
from rollgate.domain.shared.ports import AlarmMetric


def test_watched_metrics_name_namespace_metric_and_dimensions(cloudwatch_client):
    # given an alias-level Errors alarm and a metric-math alarm
    cloudwatch_client.put_metric_alarm(
        AlarmName="rollgate-guard-orders-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": "FunctionName", "Value": "orders"}, {"Name": "Resource", "Value": "orders:live"}],
    )
    cloudwatch_client.put_metric_alarm(
        AlarmName="rollgate-guard-orders-error-rate",
        EvaluationPeriods=1,
        Threshold=0.05,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {
                "Id": "e",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": "orders"}],
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
            {"Id": "rate", "Expression": "e / 100", "ReturnData": True},
        ],
    )
    # when the probe is asked what they watch
    watched = CloudWatchAlarmProbe(cloudwatch_client).watched_metrics(
        ["rollgate-guard-orders-errors", "rollgate-guard-orders-error-rate"]
    )
    # then the single-metric alarm is described, and the math alarm left out
    assert watched == {
        "rollgate-guard-orders-errors": AlarmMetric(
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": "orders", "Resource": "orders:live"},
        )
    }
