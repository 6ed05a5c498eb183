"""orders-api: the team's own function (its first build; later builds are released by Rollgate)."""

from __future__ import annotations

from typing import Any

BUILD = "v1"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    items = event.get("items") or []
    total = sum(int(item.get("qty", 1)) * 10 for item in items)
    return {"ok": True, "order_id": event.get("order_id"), "status": "accepted", "total": total, "build": BUILD}
