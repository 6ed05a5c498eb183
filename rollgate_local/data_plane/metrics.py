"""AWS/Lambda metrics: per-minute aggregates (Duration as a distribution), published when read or
after the seeded metric delay.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime

from rollgate_local.data_plane.base import NAMESPACE, DataPlaneBase
from rollgate_local.data_plane.records import _Aggregate


class Metrics(DataPlaneBase):
    """AWS/Lambda metrics, aggregated per virtual minute and flushed to CloudWatch when due."""

    # ---- metrics -------------------------------------------------------------------------------
    def _add(
        self,
        when: datetime,
        name: str,
        dims: tuple[tuple[str, str], ...],
        value: float,
        unit: str = "Count",
        distribution: bool = False,
    ) -> None:
        minute = int(when.timestamp()) // 60 * 60
        with self._metrics_lock:
            aggregate = self._metrics.get((minute, name, dims))
            if aggregate is None:
                aggregate = _Aggregate(unit=unit, distribution=Counter() if distribution else None)
                self._metrics[(minute, name, dims)] = aggregate
            aggregate.add(value)

    def _record(
        self,
        when: datetime,
        dimension_sets: list[tuple[tuple[str, str], ...]],
        *,
        throttled: bool = False,
        error: bool = False,
        duration_ms: float = 0.0,
    ) -> None:
        for dims in dimension_sets:
            self._add(when, "Throttles", dims, 1.0 if throttled else 0.0)
            if throttled:
                continue
            self._add(when, "Invocations", dims, 1.0)
            self._add(when, "Errors", dims, 1.0 if error else 0.0)
            self._add(when, "Duration", dims, duration_ms, unit="Milliseconds", distribution=True)

    def set_metric_delay(self, low_seconds: float, high_seconds: float | None = None) -> None:
        """Publish each minute's metrics a seeded `low`..`high` seconds after the minute ends (0: as
        soon as they are read, the default), as Lambda's arrive in CloudWatch a minute or more late."""
        self.metric_delay_seconds = (low_seconds, low_seconds if high_seconds is None else high_seconds)

    def _published_by(self, minute: int) -> float:
        low, high = self.metric_delay_seconds
        if high <= 0:
            return -math.inf
        return minute + 60 + random.Random(f"{self._seed}:metrics:{minute}").uniform(low, high)

    def flush_metrics(self, *, everything: bool = False) -> None:
        """Write the pending aggregates due by now (every one with `everything`) to CloudWatch
        (namespace AWS/Lambda)."""
        with self._flush_lock:
            now = self.clock.timestamp()
            with self._metrics_lock:
                pending = {
                    key: aggregate
                    for key, aggregate in self._metrics.items()
                    if everything or self._published_by(key[0]) <= now
                }
                for key in pending:
                    del self._metrics[key]
            if not pending:
                return
            data = []
            for (minute, name, dims), aggregate in pending.items():
                base = {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                    "Timestamp": datetime.fromtimestamp(minute, UTC),
                    "Unit": aggregate.unit,
                }
                if aggregate.distribution:
                    items = sorted(aggregate.distribution.items())
                    for start in range(0, len(items), 150):  # AWS: at most 150 values per datum
                        chunk = items[start : start + 150]
                        data.append({**base, "Values": [v for v, _ in chunk], "Counts": [float(c) for _, c in chunk]})
                else:
                    data.append(
                        {
                            **base,
                            "StatisticValues": {
                                "SampleCount": aggregate.count,
                                "Sum": aggregate.total,
                                "Minimum": aggregate.low,
                                "Maximum": aggregate.high,
                            },
                        }
                    )
            cloudwatch = self._clients("cloudwatch")
            for start in range(0, len(data), 500):
                cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 500])
