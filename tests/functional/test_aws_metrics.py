"""CloudWatchMetricSource: per-version series behind an alias, None where there is no datapoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import ANY, Stubber

from rollgate.aws.metrics import CloudWatchMetricSource, period_starts
from rollgate.domain.shared.errors import ThrottledError
from rollgate.domain.shared.models import CustomMetric, parse_model

FUNCTION = "orders"


def _dims(version: str) -> list[dict[str, str]]:
    return [
        {"Name": "FunctionName", "Value": FUNCTION},
        {"Name": "Resource", "Value": f"{FUNCTION}:live"},
        {"Name": "ExecutedVersion", "Value": version},
    ]


def _put(cloudwatch_client, metric: str, at: datetime, value: float, dimensions: list[dict[str, str]]) -> None:
    cloudwatch_client.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[{"MetricName": metric, "Dimensions": dimensions, "Timestamp": at, "Value": value}],
    )


@pytest.fixture
def origin() -> datetime:
    """A minute boundary 20 minutes ago (CloudWatch keeps recent data at 1-minute resolution)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(minutes=20)


def test_version_series_per_period_with_none_for_missing(cloudwatch_client, origin):
    # given version 2 with traffic in minutes 0 and 2 (errors only in minute 0, none in minute 1),
    # and version 1 traffic that must not leak in
    _put(cloudwatch_client, "Invocations", origin + timedelta(seconds=5), 40, _dims("2"))
    _put(cloudwatch_client, "Invocations", origin + timedelta(seconds=50), 60, _dims("2"))
    _put(cloudwatch_client, "Errors", origin + timedelta(seconds=10), 3, _dims("2"))
    _put(cloudwatch_client, "Throttles", origin + timedelta(seconds=10), 0, _dims("2"))
    _put(cloudwatch_client, "Invocations", origin + timedelta(minutes=2, seconds=1), 7, _dims("2"))
    _put(cloudwatch_client, "Invocations", origin + timedelta(seconds=5), 999, _dims("1"))

    # when asked from mid-minute 0 to the start of minute 3
    series = CloudWatchMetricSource(cloudwatch_client).version_series(
        FUNCTION, "live", "2", origin + timedelta(seconds=30), origin + timedelta(minutes=3), 60
    )

    # then every period is there, aligned, with sums where data exist and None (not 0) elsewhere
    assert [p.start for p in series] == [origin + timedelta(minutes=m) for m in range(3)]
    assert [p.invocations for p in series] == [100.0, None, 7.0]
    assert [p.errors for p in series] == [3.0, None, None]
    assert [p.throttles for p in series] == [0.0, None, None]
    # moto's CloudWatch computes no percentiles (the local runtime patches that): see the stubbed test
    assert [p.p95_ms for p in series] == [None, None, None]


def test_percentiles_and_pagination_from_one_get_metric_data(cloudwatch_client, origin):
    # given CloudWatch answering in two pages (NextToken)
    source = CloudWatchMetricSource(cloudwatch_client)
    first, second = origin, origin + timedelta(minutes=1)
    with Stubber(cloudwatch_client) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "invocations",
                        "Timestamps": [first, second],
                        "Values": [50.0, 20.0],
                        "StatusCode": "Complete",
                    },
                    {"Id": "p95", "Timestamps": [first], "Values": [180.0], "StatusCode": "PartialData"},
                ],
                "NextToken": "page-2",
            },
            expected_params={
                "MetricDataQueries": ANY,
                "StartTime": first,
                "EndTime": origin + timedelta(minutes=2),
                "ScanBy": "TimestampAscending",
            },
        )
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "p95", "Timestamps": [second], "Values": [210.0], "StatusCode": "Complete"},
                    {"Id": "p99", "Timestamps": [second], "Values": [450.0], "StatusCode": "Complete"},
                ],
            },
            expected_params={
                "MetricDataQueries": ANY,
                "StartTime": first,
                "EndTime": origin + timedelta(minutes=2),
                "ScanBy": "TimestampAscending",
                "NextToken": "page-2",
            },
        )

        series = source.version_series(FUNCTION, "live", "2", first, origin + timedelta(minutes=2), 60)
        stub.assert_no_pending_responses()

    assert [(p.invocations, p.p95_ms, p.p99_ms, p.errors) for p in series] == [
        (50.0, 180.0, None, None),
        (20.0, 210.0, 450.0, None),
    ]


def test_queries_name_the_version_dimension_set(cloudwatch_client, origin, monkeypatch):
    captured: dict = {}

    def fake_get_metric_data(**kwargs):
        captured.update(kwargs)
        return {"MetricDataResults": []}

    monkeypatch.setattr(cloudwatch_client, "get_metric_data", fake_get_metric_data)
    CloudWatchMetricSource(cloudwatch_client).version_series(
        f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
        "live",
        "2",
        origin,
        origin + timedelta(minutes=5),
        60,
    )

    stats = {(q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"]) for q in captured["MetricDataQueries"]}
    assert stats == {
        ("Invocations", "Sum"),
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
        ("Duration", "p95"),
        ("Duration", "p99"),
        ("Duration", "p50"),
        ("Duration", "Average"),
    }
    for query in captured["MetricDataQueries"]:
        assert query["MetricStat"]["Metric"]["Namespace"] == "AWS/Lambda"
        assert query["MetricStat"]["Metric"]["Dimensions"] == _dims("2")
        assert query["MetricStat"]["Period"] == 60


def test_iterator_age_maximum_per_period(cloudwatch_client, origin):
    dims = [{"Name": "FunctionName", "Value": FUNCTION}]
    _put(cloudwatch_client, "IteratorAge", origin + timedelta(seconds=1), 1200, dims)
    _put(cloudwatch_client, "IteratorAge", origin + timedelta(seconds=30), 5000, dims)

    samples = CloudWatchMetricSource(cloudwatch_client).iterator_age(
        FUNCTION, origin, origin + timedelta(minutes=2), 60
    )

    assert [(s.at, s.value) for s in samples] == [(origin, 5000.0), (origin + timedelta(minutes=1), None)]


def test_empty_window_makes_no_call(cloudwatch_client, origin):
    with Stubber(cloudwatch_client):
        assert CloudWatchMetricSource(cloudwatch_client).version_series(FUNCTION, "live", "2", origin, origin, 60) == []


def test_throttled_get_metric_data_is_translated(cloudwatch_client, origin):
    with Stubber(cloudwatch_client) as stub:
        stub.add_client_error("get_metric_data", service_error_code="Throttling", http_status_code=400)
        with pytest.raises(ThrottledError, match="cloudwatch:GetMetricData orders:live version 2"):
            CloudWatchMetricSource(cloudwatch_client).version_series(
                FUNCTION, "live", "2", origin, origin + timedelta(minutes=1), 60
            )


def test_period_starts_are_aligned_and_half_open():
    start = datetime(2030, 1, 1, 0, 0, 30, tzinfo=UTC)

    starts = period_starts(start, datetime(2030, 1, 1, 0, 3, tzinfo=UTC), 60)

    assert starts == [datetime(2030, 1, 1, 0, m, tzinfo=UTC) for m in range(3)]
    assert period_starts(start, datetime(2030, 1, 1, 0, 2, 1, tzinfo=UTC), 60)[-1] == datetime(
        2030, 1, 1, 0, 2, tzinfo=UTC
    )


def test_a_custom_metric_is_read_with_the_version_dimension_set(cloudwatch_client, origin):
    for version, value in (("2", 4.0), ("1", 40.0)):
        dims = [{"Name": "Service", "Value": "shop"}, {"Name": "Version", "Value": version}]
        cloudwatch_client.put_metric_data(
            Namespace="Shop",
            MetricData=[{"MetricName": "Orders", "Dimensions": dims, "Timestamp": origin, "Value": value}],
        )
    metric = parse_model(
        CustomMetric,
        {
            "name": "orders",
            "namespace": "Shop",
            "metric_name": "Orders",
            "stat": "Sum",
            "dimensions": {"Service": "shop"},
            "version_dimension": "Version",
        },
    )
    source = CloudWatchMetricSource(cloudwatch_client)
    new = source.custom_series(metric, "2", origin, origin + timedelta(minutes=2), 60)
    assert [s.value for s in new] == [4.0, None]
    assert [s.value for s in source.custom_series(metric, "1", origin, origin + timedelta(minutes=1), 60)] == [40.0]
