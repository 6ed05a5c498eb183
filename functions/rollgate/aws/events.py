"""ports.EventPublisher over EventBridge PutEvents, and the JSON encoding the adapters share."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rollgate.aws.errors import translate_client_errors
from rollgate.domain.shared.errors import TransientAwsError


def json_default(value: Any) -> Any:
    """json.dumps `default=` for what records carry: datetimes (ISO 8601), enums (their value),
    Decimals (from DynamoDB), sets, pydantic models and dataclasses."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json_text(value: Any) -> str:
    return json.dumps(value, default=json_default, separators=(",", ":"))


class EventBridgePublisher:
    """ports.EventPublisher: puts one event per call on the Rollgate bus."""

    def __init__(self, client: Any, bus_name: str, source: str = "rollgate") -> None:
        self._client = client
        self.bus_name = bus_name
        self.source = source

    def with_source(self, source: str) -> EventBridgePublisher:
        """A publisher on the same bus and client whose events carry another source."""
        return EventBridgePublisher(self._client, self.bus_name, source)

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": to_json_text(detail),
            "EventBusName": self.bus_name,
        }
        with translate_client_errors(f"events:PutEvents {detail_type!r} to bus {self.bus_name}"):
            response = self._client.put_events(Entries=[entry])
        if response.get("FailedEntryCount", 0):
            failed: dict[str, Any] = next((item for item in response.get("Entries", []) if item.get("ErrorCode")), {})
            raise TransientAwsError(
                f"events:PutEvents {detail_type!r} to bus {self.bus_name} failed: "
                f"{failed.get('ErrorCode', 'unknown error')}: {failed.get('ErrorMessage', '')}".rstrip(": ")
            )
