"""Metric math on the local runtime (rollgate_local/metric_math.py): arithmetic over query ids, evaluated per
timestamp as CloudWatch does, read through the same adapter the tasks use on AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollgate.aws.metrics import CloudWatchMetricSource
from rollgate.domain.shared.models import CustomMetric, parse_model
from rollgate_local import metric_math
from rollgate_local.runtime import LocalRuntime

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_the_patched_moto_code_is_the_code_the_patch_was_written_for() -> None:
    assert metric_math.problems() == []


def test_arithmetic_is_evaluated_where_every_input_has_a_value() -> None:
    a = {T0: 6.0, T0 + timedelta(minutes=1): 3.0, T0 + timedelta(minutes=2): 1.0}
    b = {T0: 2.0, T0 + timedelta(minutes=1): 0.0}
    assert metric_math.evaluate("a / b * 100 - -1", {"a": a, "b": b}) == {T0: 301.0}
    assert metric_math.evaluate("(a + 2) * 0.5", {"a": a})[T0 + timedelta(minutes=2)] == 1.5


@pytest.mark.parametrize(
    ("expression", "message"),
    [("SUM(METRICS())", "not modelled locally"), ("a / c", "uses c: no query has that id"), ("a +", "not arithmetic")],
)
def test_what_is_not_modelled_is_refused_by_name(expression: str, message: str) -> None:
    with pytest.raises(metric_math.UnsupportedExpression, match=message):
        metric_math.evaluate(expression, {"a": {T0: 1.0}})


def test_a_custom_metric_expression_is_read_per_version_through_the_adapter(runtime: LocalRuntime) -> None:
    cloudwatch = runtime.client("cloudwatch")
    now = runtime.clock.now().replace(second=0, microsecond=0)
    origin = now - timedelta(minutes=5)
    for minute in range(3):
        for version, orders, failed in (("7", 30.0, 3.0), ("6", 270.0, 0.0)):
            at = origin + timedelta(minutes=minute, seconds=10)
            dims = [{"Name": "Service", "Value": "shop"}, {"Name": "Version", "Value": version}]
            cloudwatch.put_metric_data(
                Namespace="Shop",
                MetricData=[
                    {"MetricName": "Orders", "Dimensions": dims, "Timestamp": at, "Value": orders},
                    {"MetricName": "PaymentFailures", "Dimensions": dims, "Timestamp": at, "Value": failed},
                ],
            )
    metric = parse_model(
        CustomMetric,
        {
            "name": "payment_failure_rate",
            "expression": "failed / orders",
            "version_dimension": "Version",
            "metrics": [
                {
                    "id": "failed",
                    "namespace": "Shop",
                    "metric_name": "PaymentFailures",
                    "dimensions": {"Service": "shop"},
                },
                {"id": "orders", "namespace": "Shop", "metric_name": "Orders", "dimensions": {"Service": "shop"}},
            ],
        },
        "health.custom_metrics.0",
    )
    source = CloudWatchMetricSource(cloudwatch)
    new = source.custom_series(metric, "7", origin, origin + timedelta(minutes=4), 60)
    old = source.custom_series(metric, "6", origin, origin + timedelta(minutes=4), 60)
    assert [s.value for s in new] == [0.1, 0.1, 0.1, None]
    assert [s.value for s in old] == [0.0, 0.0, 0.0, None]
