"""Execution environments and the layered environ: os.environ as a per-thread overlay on the
process environment while the data plane runs, so concurrent handlers each see their own.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rollgate_local.bridge import (
    FunctionRecord,
)
from rollgate_local.data_plane.code import CodeLoading
from rollgate_local.data_plane.output import _capture, _InvocationLog
from rollgate_local.data_plane.records import _Environment

_env_layer = threading.local()
_MISSING = object()


class _LayeredEnviron(MutableMapping[str, str]):
    """os.environ while the data plane runs: the process environment, overlaid in a thread that
    runs a handler by that invocation's variables. Handlers run concurrently (traffic next to the
    state machine's tasks, nested invokes arriving on other threads in server mode) without a
    global lock; writes a handler makes stay in its invocation. Threads a handler starts see the
    process environment only."""

    def __init__(self, base: MutableMapping[str, str]) -> None:
        self.base = base

    @staticmethod
    def _layer() -> dict[str, Any] | None:
        return getattr(_env_layer, "env", None)

    def __getitem__(self, key: str) -> str:
        layer = self._layer()
        if layer is not None:
            value = layer.get(key, _MISSING)
            if value is None:
                raise KeyError(key)
            if value is not _MISSING:
                return value
        return self.base[key]

    def __setitem__(self, key: str, value: str) -> None:
        layer = self._layer()
        if layer is None:
            self.base[key] = value
        elif not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        else:
            layer[key] = value

    def __delitem__(self, key: str) -> None:
        layer = self._layer()
        if layer is None:
            del self.base[key]
            return
        if key not in self:
            raise KeyError(key)
        layer[key] = None  # a tombstone: deleted for this invocation only

    def _keys(self) -> list[str]:
        layer = self._layer()
        if layer is None:
            return list(self.base)
        keys = [k for k in self.base if layer.get(k, _MISSING) is not None]
        return keys + [k for k, v in layer.items() if v is not None and k not in self.base]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def copy(self) -> dict[str, str]:
        return dict(self)

    def __repr__(self) -> str:
        return f"environ({dict(self)!r})"


class Environments(CodeLoading):
    """Execution environments (busy until their last invocation's end), the per-thread environ
    overlay and the output capture of an invocation."""

    # ---- execution environments and their logs --------------------------------------------------
    def _acquire_environment(self, record: FunctionRecord, when: datetime) -> tuple[_Environment, bool]:
        """An environment of the version free at `when` (a new one, cold, if none is): busy while an
        invocation runs on it in this process, and in virtual time from a start to its end for the
        invocations that start later (invocations at one instant run one after another: the
        clock stands still while this process runs them). Returns it and whether this is its cold start."""
        # a new configuration is a new set of environments, as a new code is
        settings = (record.log_format, record.log_group, record.memory_size, record.timeout)
        key = (record.account, record.region, record.name, record.version, *self._handler_key(record), *settings)
        with self._state_lock:
            pool = self._environments.setdefault(key, [])
            chosen = next((e for e in pool if e.free_at(when)), None)
            if chosen is None:
                self._environment_counts[key] += 1
                rng = random.Random(f"{self._seed}:{key[:5]}:{self._environment_counts[key]}")
                day = when.astimezone(UTC)
                chosen = _Environment(
                    key=key,
                    stream=f"{day:%Y/%m/%d}/[{record.version}]{rng.getrandbits(128):032x}",
                    init_ms=round(rng.uniform(150.0, 450.0), 2),
                    memory_mb=min(record.memory_size, rng.randint(44, 62)),
                    rng=rng,
                )
                pool.append(chosen)
            cold, chosen.initialised = not chosen.initialised, True
            chosen.running += 1
            return chosen, cold

    def _release_environment(
        self,
        record: FunctionRecord,
        environment: _Environment,
        when: datetime,
        duration_ms: float,
        *,
        reset: bool,
        gone: bool,
    ) -> float:
        """The invocation on `environment` ended; returns its logs' ingestion delay (seconds)."""
        with self._state_lock:
            environment.running -= 1
            environment.last_start = when
            environment.busy_until = when + timedelta(milliseconds=duration_ms)
            if reset:
                environment.initialised = False
            pool = self._environments.get(environment.key, [])
            if gone and environment in pool:
                pool.remove(environment)
            low, high = self.log_delay_seconds
            return environment.rng.uniform(low, high)

    @contextmanager
    def _environment(self, record: FunctionRecord, log_stream: str) -> Iterator[None]:
        env = {
            **record.environment,
            "AWS_REGION": record.region,
            "AWS_DEFAULT_REGION": record.region,
            "AWS_LAMBDA_FUNCTION_NAME": record.name,
            "AWS_LAMBDA_FUNCTION_VERSION": record.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(record.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": record.log_group or f"/aws/lambda/{record.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{record.runtime or 'python3.11'}",
            "_HANDLER": record.handler,
            "LAMBDA_TASK_ROOT": str(self._code_path(record)),
            "POWERTOOLS_TRACE_DISABLED": "true",
            **self.extra_env,
        }
        self._layer_environ()
        previous = getattr(_env_layer, "env", None)
        _env_layer.env = env
        try:
            yield
        finally:
            _env_layer.env = previous

    def _layer_environ(self) -> None:
        with self._streams_lock:
            if not isinstance(os.environ, _LayeredEnviron):
                self._base_environ = os.environ
                os.environ = _LayeredEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003 - an overlay, on purpose

    def _unlayer_environ(self) -> None:
        with self._streams_lock:
            if isinstance(os.environ, _LayeredEnviron) and self._base_environ is not None:
                os.environ = self._base_environ  # type: ignore[assignment]  # noqa: B003 - the original back
            self._base_environ = None

    @contextmanager
    def _captured(self, log: _InvocationLog) -> Iterator[None]:
        """Route this thread's stdout/stderr and root-logger records to `log` for the invocation: a
        thread-local switch read by the routing streams, `_invocation_print` and the runtime's log
        handler; sys is not touched here."""
        previous = getattr(_capture, "buffer", None)
        _capture.buffer = log
        try:
            yield
        finally:
            _capture.buffer = previous
