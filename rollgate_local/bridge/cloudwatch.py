"""CloudWatch patches (12-14, 22): distributions, percentiles, reads that see flushed traffic,
ListMetrics.

Patches (what AWS does / what moto 5.2.5 does / what we change):

12. CloudWatch distributions (``CloudWatchBackend.put_metric_data``). AWS keeps Values/Counts as a
    distribution; moto expands every count into its own datum (slow, big). We store one datum that
    keeps the values and counts.
13. CloudWatch percentiles (``Statistics.get_statistics_for_type``). AWS computes pNN / pNN.N from
    raw values; moto returns None (the client then fails to parse the answer). We compute them
    (nearest rank) from single values and distributions.
14. CloudWatch reads (``CloudWatchBackend.get_metric_data`` / ``get_metric_statistics``,
    ``CloudWatchResponse.get_metric_statistics``). AWS rounds a recent StartTime down to the whole
    minute, matches GetMetricStatistics dimensions exactly and serves ExtendedStatistics. moto does
    none of these and would also see metrics the data plane has not flushed yet. We flush the data
    plane first, round, match exactly, serve percentiles and drop empty (None) values.
22. ListMetrics (``CloudWatchBackend.get_filtered_metrics``). AWS lists each metric (namespace,
    name, dimensions) once; moto's duplicate check fails for two or more dimensions (and is
    quadratic), so every datum of a Lambda metric by Resource and ExecutedVersion is listed again.
    We list each metric once, the Dimensions filter as AWS applies it.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import warnings
from typing import Any

from rollgate_local import faults
from rollgate_local.bridge.core import _catch_up, _local, _patch, _state

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _percentile(samples: list[tuple[float, float]], p: float) -> float | None:
    """Nearest-rank percentile of (value, count) samples."""
    total = sum(count for _, count in samples)
    if total <= 0:
        return None
    rank = max(1.0, math.ceil(p / 100.0 * total))
    seen = 0.0
    for value, count in sorted(samples):
        seen += count
        if seen >= rank:
            return value
    return max(value for value, _ in samples)


def _floor_minute(moment: _dt.datetime) -> _dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _same_dimensions(datum: Any, dimensions: list[dict[str, str]]) -> bool:
    have = sorted((d.name, d.value) for d in datum.dimensions)
    want = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
    return have == want


def install() -> None:  # noqa: C901  # one closure per patch (each small), sharing the originals they wrap
    from moto.cloudwatch import models, responses
    from moto.cloudwatch.exceptions import InvalidParameterValue

    class DistributionDatum(models.MetricAggregatedDatum):
        """Values/Counts kept as one datum; Sum/Min/Max/SampleCount work as for statistic sets."""

        def __init__(
            self,
            namespace: str,
            name: str,
            values: list[float],
            counts: list[float],
            dimensions: list[dict[str, str]],
            timestamp: Any,
            unit: Any,
        ) -> None:
            pairs = [(float(v), float(c)) for v, c in zip(values, counts, strict=True) if float(c) > 0]
            super().__init__(
                namespace=namespace,
                name=name,
                min_stat=min((v for v, _ in pairs), default=0.0),
                max_stat=max((v for v, _ in pairs), default=0.0),
                sample_count=sum(c for _, c in pairs),
                sum_stat=sum(v * c for v, c in pairs),
                dimensions=dimensions,
                timestamp=timestamp,
                unit=unit,
            )
            self.distribution = pairs

    # 12. Values/Counts stored as one distribution datum.
    original_put = models.CloudWatchBackend.put_metric_data

    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for index, member in enumerate(metric_data):
            self._validate_parameters_put_metric_data(member, index + 1)
        plain = [m for m in metric_data if not m.get("Values")]
        if plain:
            original_put(self, namespace, plain)
        for member in metric_data:
            if not member.get("Values"):
                continue
            values = member["Values"]
            counts = member.get("Counts") or [1] * len(values)
            self.metric_data.append(
                DistributionDatum(
                    namespace,
                    member["MetricName"],
                    values,
                    counts,
                    member.get("Dimensions") or [],
                    member.get("Timestamp"),
                    member.get("Unit"),
                )
            )

    _patch(models.CloudWatchBackend, "put_metric_data", put_metric_data)

    # 13. Percentiles.
    original_stat = models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.match(stat or "")
        if not match:
            return original_stat(self, stat)
        samples: list[tuple[float, float]] = []
        for datum in self.metric_data or []:
            if isinstance(datum, DistributionDatum):
                samples.extend(datum.distribution)
            elif isinstance(datum, models.MetricDatum):
                samples.append((float(datum.value), 1.0))
        return _percentile(samples, float(match.group(1)))

    _patch(models.Statistics, "get_statistics_for_type", get_statistics_for_type)

    # 14. Reads: flush first, round StartTime to the minute, exact dimensions, percentiles.
    original_get_metric_data = models.CloudWatchBackend.get_metric_data

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: _dt.datetime,
        end_time: _dt.datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        _flush()
        results = original_get_metric_data(self, queries, _floor_minute(start_time), end_time, scan_by)
        for result in results:
            pairs = [(t, v) for t, v in zip(result["timestamps"], result["values"], strict=True) if v is not None]
            result["timestamps"] = [t for t, _ in pairs]
            result["values"] = [v for _, v in pairs]
        faults.spoil_metric_results(results)  # rollgate_local.faults.metric_outage, for tests
        return results

    _patch(models.CloudWatchBackend, "get_metric_data", get_metric_data)

    def get_metric_statistics(
        self: Any,
        namespace: str,
        metric_name: str,
        start_time: _dt.datetime,
        end_time: _dt.datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Any]:
        _flush()
        start_time = _floor_minute(start_time)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        extended = list(getattr(_local, "extended_statistics", None) or [])
        data = [
            md
            for md in self.get_all_metrics()
            if md.namespace == namespace
            and md.name == metric_name
            and start_time <= md.timestamp < end_time
            and _same_dimensions(md, dimensions)
            and (not unit or md.unit == unit)
        ]
        buckets: dict[int, list[Any]] = {}
        for datum in data:
            buckets.setdefault(int((datum.timestamp - start_time).total_seconds()) // period, []).append(datum)
        answer = []
        for index in sorted(buckets):
            statistics = models.Statistics(stats, start_time + _dt.timedelta(seconds=index * period))
            statistics.metric_data = buckets[index]
            statistics.unit = buckets[index][-1].unit
            if extended:
                values = {p: statistics.get_statistics_for_type(p) for p in extended}
                statistics.extended_statistics = {  # type: ignore[attr-defined]  # serialized as ExtendedStatistics
                    p: v for p, v in values.items() if v is not None
                }
            answer.append(statistics)
        return answer

    _patch(models.CloudWatchBackend, "get_metric_statistics", get_metric_statistics)

    original_response = responses.CloudWatchResponse.get_metric_statistics

    def get_metric_statistics_response(self: Any) -> Any:
        _local.extended_statistics = self._get_param("ExtendedStatistics") or []
        try:
            return original_response(self)
        finally:
            _local.extended_statistics = None

    _patch(responses.CloudWatchResponse, "get_metric_statistics", get_metric_statistics_response)


def _flush() -> None:
    """Pending metrics into CloudWatch before a read (traffic due by now generated first); a failed
    flush must not fail the read."""
    _catch_up()
    if _state.data_plane is not None:
        try:
            _state.data_plane.flush_metrics()
        except Exception as error:
            warnings.warn(
                f"flushing the data plane's metrics before a read failed: {error!r}", RuntimeWarning, stacklevel=2
            )


def _metric_key(datum: Any) -> tuple[Any, ...]:
    return (datum.namespace, datum.name, tuple(sorted((d.name, d.value) for d in datum.dimensions)))


def install_metric_listing() -> None:
    from moto.cloudwatch import models as cloudwatch_models

    # 22. ListMetrics lists each metric (namespace, name, dimensions) once.
    def get_filtered_metrics(
        self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[Any]:
        listed: dict[tuple[Any, ...], Any] = {}
        for datum in self.get_all_metrics():
            if (namespace and datum.namespace != namespace) or (metric_name and datum.name != metric_name):
                continue
            have = {(d.name, d.value) for d in datum.dimensions}
            names = {d.name for d in datum.dimensions}
            if any(
                (d["Name"], d["Value"]) not in have if d.get("Value") is not None else d["Name"] not in names
                for d in dimensions or []
            ):
                continue
            listed.setdefault(_metric_key(datum), datum)
        return list(listed.values())

    _patch(cloudwatch_models.CloudWatchBackend, "get_filtered_metrics", get_filtered_metrics)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.cloudwatch.models.CloudWatchBackend.put_metric_data": ("self", "namespace", "metric_data"),
    "moto.cloudwatch.models.Statistics.get_statistics_for_type": ("self", "stat"),
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_data": (
        "self",
        "queries",
        "start_time",
        "end_time",
        "scan_by",
    ),
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics": (
        "self",
        "namespace",
        "metric_name",
        "start_time",
        "end_time",
        "period",
        "stats",
        "dimensions",
        "unit",
    ),
    "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics": ("self",),
    "moto.cloudwatch.models.CloudWatchBackend.get_filtered_metrics": ("self", "metric_name", "namespace", "dimensions"),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.cloudwatch.models.CloudWatchBackend.put_metric_data":
        "300dda002442b818cba5f1296fd0f2703a8eeeea5300c3cbe02bde3c1f057ee9",
    "moto.cloudwatch.models.Statistics.get_statistics_for_type":
        "d10becd72eee65f1147ff456b34f05c52b54fbb27ccbb8131b3703a81d81a8d6",
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_data":
        "ea8fffafcc06a35f9155563657ad693fee66cb40f9a39f54078a09f0777be01c",
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics":
        "844bf661c8f9b2d658376bfd31721dbb418b47126f0f5b10d1b8422d3477dd35",
    "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics":
        "76e1c0922a6787ac95e0d48788d7b484eebd52c9400f064e55c626baf56ae38f",
    "moto.cloudwatch.models.CloudWatchBackend.get_filtered_metrics":
        "63270f556ea9d022145cce1ee6485631a315673cdb1a1ed82ba1146ac977e9e2",
}
# fmt: on
