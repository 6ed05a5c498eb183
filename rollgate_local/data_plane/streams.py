"""Stream consumers: each Kinesis/DynamoDB event source mapping driven with synthetic batches;
IteratorAge grows while they fail.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rollgate_local import bridge
from rollgate_local.bridge import (
    LambdaServiceError,
)
from rollgate_local.data_plane.invoke import Invoking
from rollgate_local.data_plane.records import _StreamState


class Streams(Invoking):
    """Stream consumers: synthetic batches for each Kinesis/DynamoDB event source mapping."""

    # ---- stream consumers ----------------------------------------------------------------------
    def drive_stream_consumers(
        self,
        function_name: str | None = None,
        *,
        at: datetime | None = None,
        record_factory: Callable[[random.Random], Any] | None = None,
    ) -> int:
        """Deliver one synthetic batch to each stream consumer whose batch is due; returns how many.

        A consumer is an event source mapping on a Kinesis or DynamoDB stream (of `function_name`,
        or of every function). IteratorAge is published for each batch.
        """
        now = at or self.clock.now()
        delivered = 0
        interval = timedelta(seconds=self.stream_batch_interval_seconds)
        for mapping in bridge.list_stream_mappings(self.account, self.region):
            name, _, qualifier = mapping.function_arn.split(":function:", 1)[1].partition(":")
            if not mapping.enabled or (function_name and name != function_name):
                continue
            with self._state_lock:
                state = self._streams.setdefault(mapping.uuid, _StreamState())
                if state.next_batch_at is not None and now < state.next_batch_at:
                    continue
                due = state.next_batch_at or now
                state.next_batch_at = max(due + interval, now - interval)  # catch up without bursts
                state.sequence += 1
                sequence = state.sequence
            failed = self._deliver_batch(mapping, sequence, now, record_factory)
            with self._state_lock:
                if failed:
                    state.failing_since = state.failing_since or now
                    age_ms = (now - state.failing_since + interval).total_seconds() * 1000.0
                else:
                    age_ms = self._stream_rng.uniform(20.0, 400.0)
                    state.failing_since = None
            dims: list[tuple[tuple[str, str], ...]] = [(("FunctionName", name),)]
            if qualifier:
                dims.append((("FunctionName", name), ("Resource", f"{name}:{qualifier}")))
            for dim in dims:
                self._add(now, "IteratorAge", dim, age_ms, unit="Milliseconds")
            delivered += 1
        return delivered

    def _deliver_batch(
        self,
        mapping: bridge.StreamMappingRecord,
        sequence: int,
        now: datetime,
        record_factory: Callable[[random.Random], Any] | None,
    ) -> bool:
        size = min(mapping.batch_size, 10)
        records = []
        for index in range(size):
            item = record_factory(self._stream_rng) if record_factory else {"sequence": sequence, "index": index}
            number = f"{sequence:012d}{index:04d}"
            records.append(
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": str(index),
                        "sequenceNumber": number,
                        "data": base64.b64encode(json.dumps(item).encode()).decode(),
                        "approximateArrivalTimestamp": now.timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"shardId-000000000000:{number}",
                    "eventName": "aws:kinesis:record",
                    "awsRegion": self.region,
                    "eventSourceARN": mapping.event_source_arn,
                }
            )
        try:
            result = self.invoke(mapping.function_arn, None, {"Records": records}, at=now)
        except LambdaServiceError:
            return True
        return result.function_error is not None
