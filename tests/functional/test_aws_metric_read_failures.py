"""CloudWatchMetricSource: a query CloudWatch could not serve is a transient failure, never "no
datapoint" (observe records it as a read failure; the judge answers INCONCLUSIVE, not UNHEALTHY)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import ANY, Stubber

from rollgate.aws.metrics import CloudWatchMetricSource
from rollgate.domain.shared.errors import TransientAwsError


def test_a_query_answered_internal_error_is_a_transient_failure(cloudwatch_client):
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with Stubber(cloudwatch_client) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "invocations", "StatusCode": "Complete", "Timestamps": [start], "Values": [5.0]},
                    {
                        "Id": "errors",
                        "StatusCode": "InternalError",
                        "Timestamps": [],
                        "Values": [],
                        "Messages": [{"Code": "InternalError", "Value": "try again"}],
                    },
                ]
            },
            {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY, "ScanBy": "TimestampAscending"},
        )
        with pytest.raises(TransientAwsError, match="query errors returned InternalError"):
            CloudWatchMetricSource(cloudwatch_client).version_series(
                "orders", "live", "2", start, start + timedelta(minutes=1), 60
            )
