"""The state every part of the data plane shares (``DataPlaneBase``): settings, clients, locks."""

from __future__ import annotations

import logging
import random
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

from rollgate_local.data_plane.records import (
    _Aggregate,
    _Allocation,
    _Environment,
    _FunctionSettings,
    _Image,
    _LoadedHandler,
    _StreamState,
    _Update,
)

LOG = logging.getLogger("rollgate_local.data_plane")  # one logger for the whole data plane
NAMESPACE = "AWS/Lambda"
_RUNTIME_BUILD = 38  # the runtime build INIT_START names (python:3.12.v38): any fixed one will do
ClientFactory = Callable[[str], Any]


class DataPlaneBase:
    """What every part of the data plane shares: its settings, clients, locks and state (set up here,
    read and changed by the parts)."""

    def __init__(
        self,
        clock: Any,
        *,
        client_factory: ClientFactory,
        account: str = "123456789012",
        region: str = "us-east-1",
        seed: int = 7,
        update_seconds: float = 15.0,
        async_retries: int = 2,
        stream_batch_interval_seconds: float = 10.0,
        extra_env: dict[str, str] | None = None,
        echo_logs: bool = False,
        own_packages: tuple[str, ...] = ("rollgate",),
        provisioning_seconds: float = 60.0,
        log_delay_seconds: tuple[float, float] = (1.0, 5.0),
        log_retention_seconds: float | None = 6 * 3600.0,
    ) -> None:
        self.clock = clock
        self.log_delay_seconds = log_delay_seconds
        self.log_retention_seconds = log_retention_seconds
        self.metric_delay_seconds = (0.0, 0.0)
        self.provisioning_seconds = provisioning_seconds
        self.account = account
        self.region = region
        self.update_seconds = update_seconds
        self.async_retries = async_retries
        self.stream_batch_interval_seconds = stream_batch_interval_seconds
        self.extra_env = dict(extra_env or {})
        self.echo_logs = echo_logs
        self.own_packages = own_packages
        self._clients = client_factory
        self._seed = seed
        self._routing_rngs: dict[str, random.Random] = {}
        self._stream_rng = random.Random(seed + 1)
        self._load_lock = threading.RLock()
        self._streams_lock = threading.Lock()
        self._routes_output = False  # whether this data plane holds the routing streams in sys
        self._base_environ: MutableMapping[str, str] | None = None
        self._state_lock = threading.RLock()
        self._metrics_lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._metrics: dict[tuple[int, str, tuple[tuple[str, str], ...]], _Aggregate] = {}
        self._updates: dict[tuple[str, str, str], _Update] = {}
        self._allocations: dict[tuple[str, str, str], dict[str, _Allocation]] = {}
        self._images: dict[tuple[str, str, str], _Image] = {}
        self._functions: dict[str, _FunctionSettings] = {}
        self._streams: dict[str, _StreamState] = {}
        self._environments: dict[tuple[Any, ...], list[_Environment]] = {}
        self._environment_counts: Counter[tuple[Any, ...]] = Counter()
        self._request_counts: dict[tuple[str, str], tuple[datetime | None, int]] = {}
        self._handlers: dict[tuple[Any, ...], _LoadedHandler] = {}
        self._code_root = Path(tempfile.mkdtemp(prefix="rollgate-local-code-"))
        self._added_paths: list[str] = []
        self._own_code_started = False

    # ---- configuration -----------------------------------------------------------------------
    def _settings(self, function_name: str) -> _FunctionSettings:
        with self._state_lock:
            return self._functions.setdefault(function_name, _FunctionSettings())
