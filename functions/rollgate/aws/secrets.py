"""SecretReader: Secrets Manager values, cached in memory for a while.

A warm Lambda answers most calls from the cache, so a burst of webhooks makes one
GetSecretValue call, not one each. A changed secret takes effect within `ttl_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rollgate.aws.errors import translate_client_errors


class SecretReader:
    """Reads secret values (as bytes) over a Secrets Manager client, caching each for a while."""

    def __init__(
        self, client: Any, ttl_seconds: float = 300, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds must not be negative (got {ttl_seconds})")
        self._client = client
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, bytes]] = {}  # secret id -> (read at, value)

    def get(self, secret_id: str) -> bytes:
        """The current value of `secret_id` (name or ARN): SecretString as UTF-8, or SecretBinary."""
        now = self._monotonic()
        cached = self._cache.get(secret_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with translate_client_errors(f"secretsmanager:GetSecretValue {secret_id}"):
            response = self._client.get_secret_value(SecretId=secret_id)
        if response.get("SecretString") is not None:
            value = str(response["SecretString"]).encode("utf-8")
        else:
            value = bytes(response.get("SecretBinary") or b"")
        self._cache[secret_id] = (now, value)
        return value
