"""The in-process Lambda data plane of the local runtime.

moto keeps the Lambda *control plane* (functions, versions, aliases, configuration); this module is
the *data plane* it lacks without Docker: it runs handlers in this process, honours alias weights,
publishes AWS/Lambda metrics, reports updates as InProgress for a while, sends failed asynchronous
events to the dead-letter queue and models a stream consumer's iterator age. moto reaches it through
``local.bridge``; the traffic generator calls it directly. Each invocation's output is
written to CloudWatch Logs as Lambda writes it.

Public API:

    LambdaDataPlane(clock, *, client_factory, account="123456789012", region="us-east-1", seed=7,
                    update_seconds=15.0, async_retries=2,
                    stream_batch_interval_seconds=10.0, extra_env=None, echo_logs=False,
                    own_packages=("rollgate",), provisioning_seconds=60.0,
                    log_delay_seconds=(1.0, 5.0), log_retention_seconds=6 * 3600.0)
        client_factory(service) -> boto3 client (the runtime's; used for CloudWatch, SQS, SNS)
        .invoke(function_name, qualifier=None, payload=None, invocation_type="RequestResponse",
                *, log_type=None, at=None) -> InvokeResult
              raises LambdaServiceError (404 unknown function, 429 throttled, 400 bad JSON)
        .set_update_seconds(function_name, seconds)       how long updates stay InProgress
        .fail_next_update(function_name, reason=..., reason_code="InvalidConfiguration")
        .set_concurrency_limit(function_name, limit | None)   throttle above `limit` in flight
        .set_provisioning_seconds(function_name, seconds)  how long an allocation stays IN_PROGRESS
        .fail_next_provisioning(function_name, reason=...)  the next allocation ends FAILED
        .drive_stream_consumers(function_name=None, *, at=None, record_factory=None) -> int
        .set_metric_delay(low_seconds, high_seconds=None)   each minute's metrics published a seeded
                                  low..high s after the minute ends (default 0: when read)
        .flush_metrics(*, everything=False)   write the pending metrics due by now to CloudWatch
        .logs(function_name) -> list[str]   the last 200 invocations' logs, one text each (what
                                            CloudWatch Logs got, joined: START ... REPORT)
        .start() / .stop()        output routing on / last flush, environment and code cleaned up
      and the hooks the bridge calls: handle_invoke, function_updated, update_status, flush_metrics,
      put_provisioned_concurrency, provisioned_concurrency, delete_provisioned_concurrency.
    LambdaContext    what handlers receive (function_name, function_version, invoked_function_arn,
                     memory_limit_in_mb, aws_request_id, log_group_name, log_stream_name,
                     get_remaining_time_in_millis() on the runtime clock)
    InvokeResult(status_code, payload, function_error, executed_version, log_result).json()

Behaviour, as on AWS Lambda:

* Qualifier: an alias picks a version by its RoutingConfig weights (seeded RNG); a number is that
  version; None or $LATEST the latest. The response carries X-Amz-Executed-Version.
* Code: the version's zip from moto, extracted once per CodeSha256 under a temporary directory;
  for an image function, the image its ImageUri names in the local ECR (see `local.images`): its
  layers (tar archives) extracted in order, the code run from the image's WorkingDir (/var/task),
  the handler its ImageConfig Command or else the image's CMD, as the Lambda base images do.
  Rollgate's own task code (a zip holding the `rollgate/` package; `own_packages`) is imported
  normally by module path with its directory appended to sys.path (an already-imported `rollgate`
  from functions/ is the same code; module-level functools caches of those packages, like the
  lazily built `_deps()`, are cleared when a new data plane first runs own code, as a cold start
  would). Any other code (the sample app's builds) is loaded in
  isolation by file path under a module name unique per code sha and environment, so v1..v7 of
  `app.py` coexist and each version sees its own environment at import time (on AWS each version
  gets its own execution environment).
* Environment: the function's variables, Lambda's reserved ones (AWS_LAMBDA_FUNCTION_NAME, ...),
  and `extra_env` are what os.environ shows
  in the invoking thread for the duration of the call: while the data plane runs, os.environ is a
  per-thread overlay on the process environment, so handlers run concurrently (traffic next to the
  state machine's tasks) and nested invokes work, without a global lock. Writes a handler makes
  stay in its invocation; threads a handler starts see the process environment.
  POWERTOOLS_TRACE_DISABLED is forced on: there is no X-Ray daemon locally.
* Errors: an exception becomes FunctionError "Unhandled" with {"errorType", "errorMessage",
  "requestId", "stackTrace"}; init failures follow the Python runtime (ImportError ->
  Runtime.ImportModuleError "Unable to import module 'app': ...", SyntaxError ->
  Runtime.UserCodeSyntaxError, missing handler -> Runtime.HandlerNotFound, any other exception at
  import -> its class name). Failed inits are retried on the next invoke, as Lambda does.
* Async (InvocationType Event): 202 at once; the handler runs in the caller's thread, is retried
  `async_retries` times on failure, then the event goes to the DeadLetterConfig target (SQS or SNS)
  with the RequestID/ErrorCode/ErrorMessage attributes Lambda sets.
* Throttling: with a concurrency limit set (or reserved concurrency from PutFunctionConcurrency),
  invocations overlapping in virtual time beyond the limit get 429 TooManyRequestsException and a
  Throttles datapoint.
* Metrics (namespace AWS/Lambda, timestamps from the runtime clock, aggregated per virtual minute):
  Invocations, Errors, Throttles (0/1 per request, so Sum is the count and SampleCount the
  requests), Duration (a distribution, so p95/p99 work) with the dimension sets {FunctionName},
  {FunctionName, Resource} for qualified calls (Resource = "fn:alias" or "fn:version") and
  {FunctionName, Resource, ExecutedVersion} for alias calls; IteratorAge (ms) for stream consumers
  with {FunctionName} and {FunctionName, Resource}. Flushed before any GetMetricData /
  GetMetricStatistics is served (traffic due by then generated first) and at stop; no thread.
  With `set_metric_delay` a minute's datapoints are published only a seeded delay after the minute
  ends (Lambda's metrics reach CloudWatch a minute or more late); by default they are visible as
  soon as they are read.
* Output: what an invocation prints or writes to stdout/stderr (and loggers on them) and what
  reaches the root logger is its log, like the Python runtime's. The routing streams behind that
  are put into sys.stdout/sys.stderr once, by the thread that starts the data plane, and taken out
  by stop(), with the runtime's log handler on the root logger; handler modules also get a routed
  `print`, so their prints are logged whoever holds sys.stdout. Threads a handler starts write to
  the process's streams.
* Logs in CloudWatch Logs: each invocation's events go to the function's log group
  (LoggingConfig.LogGroup, else /aws/lambda/NAME, created with the function, retention unset), in
  the stream of the execution environment it ran in, named `YYYY/MM/DD/[VERSION]<32 hex>` (the UTC
  day the environment started; seeded, so the same seed names the same streams). An environment
  of a version is busy while an invocation runs on it in this process and, for invocations that
  start later in virtual time, until the modelled end of its last one (invocations at one instant
  run one after another: the clock stands still while this process runs them), so overlapping
  traffic opens more environments; an environment's first invocation is its cold start, a timeout
  restarts its runtime (the next is cold again) and an init that fails leaves none. Text format
  (the default): `INIT_START Runtime Version: ...` on a cold start; `START RequestId: ID Version:
  N`; each line printed; each logging record `[LEVEL]\t<time>Z\tID\t<message>` (a traceback in
  the same event); an uncaught exception or init error as one event `[ERROR] Type: message\n
  Traceback (most recent call last):\n...` (the frames indented with no-break spaces, as the
  runtime writes them; an init error after the runtime's `[WARNING]` "Unhandled exception ..."
  line); `<time>Z ID Task timed out after N.00 seconds`;
  `END RequestId: ID`; `REPORT RequestId: ID\tDuration: D ms\tBilled Duration: B ms\tMemory
  Size: M MB\tMax Memory Used: U MB` (+ `\tInit Duration: I ms` on a cold start, whose INIT phase
  is billed; `\tStatus: timeout`, or `\tStatus: error\tError Type: T` after a failed init).
  LoggingConfig.LogFormat JSON: platform.initStart / platform.start / platform.runtimeDone /
  platform.report records (status success|error|timeout, metrics in ms and MB), logging records
  as {"timestamp", "level", "message", "logger", "requestId"} (+ stackTrace, errorType,
  errorMessage, location with exc_info, and `extra=` fields), an uncaught exception as
  {"timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"}, prints as
  plain text; ApplicationLogLevel drops records below it,
  a SystemLogLevel above INFO the platform records. Event timestamps are on the runtime clock;
  request ids are seeded too (and so every line quoted in evidence); every event of an invocation
  is ingested (readable by FilterLogEvents / GetLogEvents) a seeded
  1-5 s (`log_delay_seconds`) after the invocation ends (``local.bridge`` patch 30). Events
  older than `log_retention_seconds` (6 virtual hours; None: kept) are dropped now and then, so a
  long `local serve` session (60 virtual hours a wall hour) keeps bounded memory. Init
  Duration (seeded, 150-450 ms) and Max Memory Used (seeded per environment) are log values only:
  Duration and the metrics are unchanged by a cold start.
* Duration: handlers run in microseconds here, so a handler module may define the local-only
  convention ``SIMULATED_LATENCY_MS`` (a float, or a callable(event) -> float); that is reported as
  Duration instead of the measured time. Handlers without it report their real run time.
* Timeout: an invocation whose modelled Duration (``SIMULATED_LATENCY_MS``) exceeds the version's
  Timeout fails as Lambda's do: FunctionError Unhandled, errorType Sandbox.Timedout, "Task timed
  out after N.00 seconds", Duration = the timeout. The handler is not cut off (it has already
  returned; its side effects stand), and measured run times are never timed out (a busy machine
  must not fail a task).
* Provisioned concurrency: Put/Get/Delete/ListProvisionedConcurrencyConfig(s) (through
  ``local.bridge``) keep an allocation per version or alias, IN_PROGRESS for
  `provisioning_seconds` of virtual time after each put (set per function), then READY with every
  requested environment available (or FAILED when told to). The allocation changes no invocation:
  cold starts are not modelled, so provisioned environments are not faster here.
* Stream consumers: for each event source mapping on a Kinesis/DynamoDB stream,
  `drive_stream_consumers` (called by the traffic generator every loop) invokes the mapped
  function/alias with a synthetic batch every `stream_batch_interval_seconds` of virtual time.
  While batches succeed IteratorAge stays well under a second; while they fail the batch is retried
  and IteratorAge grows with virtual time since the first failure.

Not modelled: cutting a handler off at its timeout, memory (Max Memory Used is a seeded number),
cold starts' latency (Init Duration is logged, never added to Duration, so what provisioned
concurrency buys), environments idling out, per-environment module state (the environments of a
version share one import), the root logger's level (the process's, not Lambda's WARNING; a JSON
ApplicationLogLevel only drops records below it), an image's ENTRYPOINT, environment and layers
other than files (the image's runtime is the virtualenv's).
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import hashlib
import importlib
import importlib.util
import io
import json
import logging
import math
import os
import random
import re
import shutil
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from local import bridge
from local.bridge import (
    FunctionRecord,
    InvokeRequest,
    InvokeResult,
    LambdaServiceError,
    Target,
    UpdateStatus,
)

__all__ = ["InvokeResult", "LambdaContext", "LambdaDataPlane", "LambdaServiceError"]

LOG = logging.getLogger(__name__)
NAMESPACE = "AWS/Lambda"
_RUNTIME_BUILD = 38  # the runtime build INIT_START names (python:3.12.v38): any fixed one will do
ClientFactory = Callable[[str], Any]


# --------------------------------------------------------------------------------------------
# Lambda context
# --------------------------------------------------------------------------------------------
class LambdaContext:
    """The context object the Python runtime passes to handlers."""

    def __init__(
        self,
        *,
        record: FunctionRecord,
        invoked_function_arn: str,
        request_id: str,
        deadline: datetime,
        clock: Any,
        client_context: Any = None,
        log_stream_name: str = "",
    ) -> None:
        self.function_name = record.name
        self.function_version = record.version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = record.memory_size
        self.aws_request_id = request_id
        self.log_group_name = record.log_group or f"/aws/lambda/{record.name}"
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = client_context
        self.tenant_id = None
        self._deadline = deadline
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.now()).total_seconds() * 1000))


# --------------------------------------------------------------------------------------------
# Handler output capture (each invocation's stdout/stderr becomes its function's log)
# --------------------------------------------------------------------------------------------
# Why not swap sys.stdout per invocation: CPython 3.11's print() holds a *borrowed* reference to
# sys.stdout, so replacing the stream from one thread while another prints frees the object under
# the printer (segfault, or attribute errors on a half-freed stream). So sys.stdout/sys.stderr are
# replaced only by `_routing.acquire()`/`release()`, called by the thread that creates/stops a
# data plane, and the two routing streams are module-level singletons that are never freed. Inside
# an invocation a thread-local buffer says where that thread's output goes; every other write is
# forwarded to the stream that was there before. A handler module's `print` is also routed (see
# `_invocation_print`), so a handler's prints reach its log even when something else (pytest's
# capture between test phases) has put its own stream into sys.stdout since the data plane started.
_capture = threading.local()


class _RoutingStream:
    """sys.stdout or sys.stderr while a data plane is up: in a thread running a handler, writes go
    to that invocation's log; anywhere else to the stream it replaced (or, once uninstalled, to
    whatever sys.<name> is then, so a logger created on it during an invocation keeps working). The
    rest of the TextIO surface (name, encoding, errors, buffer, fileno, line_buffering ...) is the
    forwarded stream's, so code that inspects sys.stdout behaves as without the data plane."""

    def __init__(self, stream_name: str) -> None:
        self._stream_name = stream_name  # "stdout" | "stderr"
        self._replaced: Any = None  # the stream this one stands in for, while installed

    def _forward(self) -> Any:
        replaced = self._replaced
        if replaced is not None:
            return replaced
        current = getattr(sys, self._stream_name, None)
        if current is None or current is self:
            return getattr(sys, f"__{self._stream_name}__")
        return current

    @staticmethod
    def _buffer() -> _InvocationLog | None:
        return getattr(_capture, "buffer", None)

    def write(self, text: str) -> int:
        buffer = self._buffer()
        if buffer is not None:
            return buffer.write(text)
        return int(self._forward().write(text) or 0)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._buffer() is None:
            self._forward().flush()

    def isatty(self) -> bool:
        return False if self._buffer() is not None else bool(self._forward().isatty())

    def close(self) -> None:
        """A handler cannot close the process's stream (on Lambda it would only lose its log)."""

    @property
    def closed(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def __getattr__(self, attribute: str) -> Any:  # name, encoding, errors, buffer, fileno, mode ...
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self._forward(), attribute)

    def __repr__(self) -> str:
        return f"<rollgate routing {self._stream_name} -> {self._forward()!r}>"


_APPLICATION_LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "WARN": 30, "ERROR": 40, "FATAL": 50}
_SYSTEM_LOGS_SHOWN = ("DEBUG", "INFO")  # the platform records are INFO: a higher SystemLogLevel drops them
_exception_formatter = logging.Formatter()


class _InvocationLog:
    """One invocation's output as Lambda's log agent takes it: a list of (instant, message) events.
    Each line a handler prints or writes to stdout/stderr is one event (plain text in either log
    format); each logging record reaching the root logger is one event formatted as the Python
    runtime formats it (text: `[LEVEL]\t<time>Z\t<request id>\t<message>`, a traceback included in
    the same event; JSON: timestamp, level, message, logger, requestId, and errorType/errorMessage/
    stackTrace with exc_info); the runtime adds its own lines (see `LambdaDataPlane._run`). Instants
    are the invocation's own (`at` of the invoke) plus the runtime clock's progress since it began."""

    def __init__(self, *, request_id: str, log_format: str, application_level: str | None, clock: Any, at: datetime):
        self.request_id = request_id
        self.json = log_format == "JSON"
        self.level = _APPLICATION_LEVELS.get((application_level or "").upper(), 0) if self.json else 0
        self._clock = clock
        self._at = at
        self._began = clock.now()
        self._partial = ""
        self.events: list[tuple[datetime, str]] = []

    def now(self) -> datetime:
        return self._at + (self._clock.now() - self._began)

    def write(self, text: str) -> int:
        self._partial += text
        if "\n" in self._partial:
            *lines, self._partial = self._partial.split("\n")
            at = self.now()
            self.events.extend((at, line + "\n") for line in lines)
        return len(text)

    def flush(self) -> None:
        """Lines become events when they end (or when the invocation does)."""

    def close(self) -> None:
        if self._partial:
            self.events.append((self.now(), self._partial + "\n"))
            self._partial = ""

    def add(self, message: str, at: datetime | None = None) -> None:
        self.events.append((self.now() if at is None else at, message))

    def record(self, record: logging.LogRecord, *, request_id: str | None = None) -> None:
        at = self.now()
        request_id = self.request_id if request_id is None else request_id
        if self.json:
            level = min(50, max(0, record.levelno)) // 10 * 10  # the runtime rounds custom levels down
            if level < self.level:
                return
            exc_info = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
            body: dict[str, Any] = {
                "timestamp": _timestamp(at),
                "level": logging.getLevelName(level),
                "message": record.getMessage(),
                "logger": record.name,
                "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
                "errorType": exc_info[0].__name__ if exc_info else None,  # type: ignore[union-attr]
                "errorMessage": str(exc_info[1]) if exc_info else None,
                "requestId": request_id,
                "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
            }
            # fields given with `extra=` are the record's own: the runtime adds them too
            body.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS and k not in body)
            kept = {k: v for k, v in body.items() if v is not None}
            self.add(json.dumps(kept, default=str, ensure_ascii=False) + "\n", at)
            return
        # logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"):
        # a traceback follows the line, with no newline of its own at the end
        text = f"[{record.levelname}]\t{_timestamp(at)}\t{request_id}\t{record.getMessage()}\n"
        if record.exc_info:
            text += _exception_formatter.formatException(record.exc_info)
        if record.stack_info:
            text += ("" if text.endswith("\n") else "\n") + record.stack_info
        self.add(text, at)

    def uncaught(self, error_type: str, message: str, trace: list[str]) -> None:
        """An exception out of the handler (or its init): one event, as the Python runtime logs it
        (text: the trace's indentation in no-break spaces, lines joined by newlines, none at the end)."""
        if self.json:
            body = {
                "timestamp": self.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "level": "ERROR",
                "errorMessage": message,
                "errorType": error_type,
                "requestId": self.request_id,
                "stackTrace": trace,
            }
            self.add(json.dumps(body, ensure_ascii=False))
            return
        described = "[ERROR]" + (f" {error_type}" if error_type else "")
        if message:
            described += (":" if error_type else "") + f" {message}"
        lines = [described, "Traceback (most recent call last):"]
        for element in trace:
            lines += [_nbsp_indented(line) for line in element.splitlines()] if element else [""]
        self.add("\n".join(lines))

    def text(self) -> str:
        return "".join(message if message.endswith("\n") else message + "\n" for _, message in self.events)


def _nbsp_indented(line: str) -> str:
    stripped = line.lstrip(" ")
    return "\u00a0" * (len(line) - len(stripped)) + stripped


#: What every LogRecord has: the JSON format adds only a record's other attributes (`extra=`).
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
#: What the Python runtime logs (at WARNING, with no request id) before an init error.
_INIT_ERROR_WARNING = (
    "Unhandled exception. The most likely cause is an issue in the function code. However, in rare cases, a "
    "Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, runtime "
    "updates can be triggered by a function change, or can be applied automatically. To determine if the runtime "
    "has been updated, check the runtime version in the INIT_START log entry. If this error correlates with a "
    "change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the "
    "previous runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class _RuntimeLogHandler(logging.Handler):
    """The Python runtime's handler on the root logger: inside an invocation, a record is an event
    of that invocation's log. Outside one it is not there: a record no other handler takes goes to
    logging.lastResort, as it would without the data plane."""

    def emit(self, record: logging.LogRecord) -> None:
        log = getattr(_capture, "buffer", None)
        if log is None:
            self._last_resort(record)
            return
        try:
            log.record(record)
        except Exception:
            self.handleError(record)

    def _last_resort(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(None if record.name == "root" else record.name)
        while logger is not None:
            if any(handler is not self for handler in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


class _Routing:
    """Installs the routing streams into sys, and the runtime's log handler on the root logger,
    once for all live data planes (reference counted)."""

    def __init__(self) -> None:
        self.streams = {name: _RoutingStream(name) for name in ("stdout", "stderr")}
        self.log_handler = _RuntimeLogHandler()
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            root = logging.getLogger()
            if self.log_handler not in root.handlers:
                root.addHandler(self.log_handler)
            for name, router in self.streams.items():
                current = getattr(sys, name)
                if current is not router:
                    router._replaced = current  # kept referenced: a printer may still hold it
                    setattr(sys, name, router)

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            logging.getLogger().removeHandler(self.log_handler)
            for name, router in self.streams.items():
                if getattr(sys, name) is router and router._replaced is not None:
                    setattr(sys, name, router._replaced)
                router._replaced = None  # from now on: whatever sys.<name> is (someone else's stream)


_routing = _Routing()


def _invocation_print(
    *values: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False
) -> None:
    """`print` in handler modules: to the invocation's log when printing to stdout/stderr inside an
    invocation, whoever holds sys.stdout at the moment; exactly the builtin everywhere else."""
    buffer = getattr(_capture, "buffer", None)
    if buffer is not None and (
        file is None or file is sys.stdout or file is sys.stderr or isinstance(file, _RoutingStream)
    ):
        file = buffer
    builtins.print(*values, sep=sep, end=end, file=file, flush=flush)


# --------------------------------------------------------------------------------------------
# Per-thread environment (each invocation sees its function's variables, concurrently)
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Internal records
# --------------------------------------------------------------------------------------------
@dataclass
class _Update:
    until: datetime
    failure: tuple[str, str] | None  # (reason, reason_code)


@dataclass
class _Aggregate:
    count: float = 0.0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    distribution: Counter[float] | None = None
    unit: str = "Count"

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        if self.distribution is not None:
            self.distribution[round(value, 2)] += 1


@dataclass(eq=False)
class _Environment:
    """An execution environment of one version: its log stream and what its cold start took."""

    key: tuple[Any, ...]
    stream: str
    init_ms: float
    memory_mb: int
    rng: random.Random  # its logs' ingestion delays, in the order of its invocations
    running: int = 0  # invocations running on it in this process now
    last_start: datetime | None = None
    busy_until: datetime | None = None
    initialised: bool = False

    def free_at(self, when: datetime) -> bool:
        if self.running:
            return False
        return self.last_start is None or self.busy_until is None or not self.last_start < when < self.busy_until


@dataclass
class _StreamState:
    next_batch_at: datetime | None = None
    failing_since: datetime | None = None
    sequence: int = 0


@dataclass
class _Outcome:
    payload: bytes
    function_error: str | None
    duration_ms: float
    log: str
    error_type: str | None = None
    error_message: str | None = None


class _InitError(Exception):
    def __init__(self, error_type: str, message: str, trace: list[str]) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


@dataclass
class _LoadedHandler:
    function: Callable[[Any, Any], Any]
    module: ModuleType


@dataclass
class _Allocation:
    """A provisioned-concurrency config: READY from `ready_at`, unless it failed."""

    requested: int
    modified: datetime
    ready_at: datetime
    failure: str | None = None


@dataclass(frozen=True)
class _Image:
    """What the data plane needs of an image: its files (layer archives, in order) and how to start."""

    layers: tuple[bytes, ...]
    command: tuple[str, ...]
    working_dir: str


@dataclass
class _FunctionSettings:
    update_seconds: float | None = None
    fail_next_update: tuple[str, str] | None = None
    provisioning_seconds: float | None = None
    fail_next_provisioning: str | None = None
    concurrency_limit: int | None = None
    in_flight: list[tuple[datetime, datetime]] = field(default_factory=list)
    logs: deque[str] = field(default_factory=lambda: deque(maxlen=200))


# --------------------------------------------------------------------------------------------
# The data plane
# --------------------------------------------------------------------------------------------
class LambdaDataPlane:
    """In-process Lambda data plane; see the module docstring."""

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

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Install the output routing streams (from this, the starting thread). Metrics need no
        thread: they are flushed before every CloudWatch read and at stop."""
        if not self._routes_output:
            self._routes_output = True
            _routing.acquire()

    def stop(self) -> None:
        """Flush the metrics a last time, give os.environ back, drop the extracted code."""
        try:
            self.flush_metrics(everything=True)
        except Exception:
            LOG.debug("final metrics flush failed", exc_info=True)
        self._unlayer_environ()
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths.clear()
        shutil.rmtree(self._code_root, ignore_errors=True)
        if self._routes_output:
            self._routes_output = False
            _routing.release()

    # ---- configuration -----------------------------------------------------------------------
    def _settings(self, function_name: str) -> _FunctionSettings:
        with self._state_lock:
            return self._functions.setdefault(function_name, _FunctionSettings())

    def set_update_seconds(self, function_name: str, seconds: float) -> None:
        """How many virtual seconds updates of `function_name` stay InProgress."""
        self._settings(function_name).update_seconds = seconds

    def fail_next_update(
        self,
        function_name: str,
        reason: str = "The function could not be updated: the runtime rejected the "
        "new configuration (failure injected by the local runtime).",
        reason_code: str = "InvalidConfiguration",
    ) -> None:
        """Make the next update of `function_name` end Failed with this LastUpdateStatusReason."""
        self._settings(function_name).fail_next_update = (reason, reason_code)

    def set_concurrency_limit(self, function_name: str, limit: int | None) -> None:
        """Throttle invocations beyond `limit` overlapping in virtual time (None: no limit)."""
        self._settings(function_name).concurrency_limit = limit

    def logs(self, function_name: str) -> list[str]:
        return list(self._settings(function_name).logs)

    def set_provisioning_seconds(self, function_name: str, seconds: float) -> None:
        """How many virtual seconds a provisioned-concurrency allocation of `function_name` stays IN_PROGRESS."""
        self._settings(function_name).provisioning_seconds = seconds

    def fail_next_provisioning(
        self, function_name: str, reason: str = "FUNCTION_ERROR_INIT_FAILURE: the allocation failed (injected)"
    ) -> None:
        """Make the next allocation on `function_name` end FAILED with this StatusReason."""
        self._settings(function_name).fail_next_provisioning = reason

    # ---- bridge hooks: provisioned concurrency -------------------------------------------------
    def put_provisioned_concurrency(
        self, account: str, region: str, function_name: str, qualifier: str, executions: int
    ) -> dict[str, Any]:
        settings = self._settings(function_name)
        seconds = self.provisioning_seconds if settings.provisioning_seconds is None else settings.provisioning_seconds
        now = self.clock.now()
        with self._state_lock:
            failure, settings.fail_next_provisioning = settings.fail_next_provisioning, None
            allocation = _Allocation(executions, now, now + timedelta(seconds=seconds), failure)
            self._allocations.setdefault((account, region, function_name), {})[qualifier] = allocation
        return self._allocation_view(allocation)

    def provisioned_concurrency(self, account: str, region: str, function_name: str) -> dict[str, dict[str, Any]]:
        """{qualifier -> GetProvisionedConcurrencyConfig's answer} of the function's allocations."""
        with self._state_lock:
            allocations = dict(self._allocations.get((account, region, function_name), {}))
        return {qualifier: self._allocation_view(a) for qualifier, a in allocations.items()}

    def delete_provisioned_concurrency(self, account: str, region: str, function_name: str, qualifier: str) -> bool:
        with self._state_lock:
            return self._allocations.get((account, region, function_name), {}).pop(qualifier, None) is not None

    def _allocation_view(self, allocation: _Allocation) -> dict[str, Any]:
        ready = self.clock.now() >= allocation.ready_at
        status = "IN_PROGRESS" if not ready else ("FAILED" if allocation.failure else "READY")
        available = allocation.requested if status == "READY" else 0
        view: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": allocation.requested,
            "AvailableProvisionedConcurrentExecutions": available,
            "AllocatedProvisionedConcurrentExecutions": available,
            "Status": status,
            "LastModified": allocation.modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        }
        if status == "FAILED":
            view["StatusReason"] = allocation.failure
        return view

    # ---- bridge hooks: updates -----------------------------------------------------------------
    def function_updated(self, account: str, region: str, function_name: str) -> None:
        settings = self._settings(function_name)
        seconds = self.update_seconds if settings.update_seconds is None else settings.update_seconds
        with self._state_lock:
            failure, settings.fail_next_update = settings.fail_next_update, None
            self._updates[(account, region, function_name)] = _Update(
                until=self.clock.now() + timedelta(seconds=seconds), failure=failure
            )

    def update_status(self, account: str, region: str, function_name: str) -> UpdateStatus | None:
        with self._state_lock:
            update = self._updates.get((account, region, function_name))
        if update is None:
            return None
        if self.clock.now() < update.until:
            return UpdateStatus("InProgress")
        if update.failure is not None:
            return UpdateStatus("Failed", reason=update.failure[0], reason_code=update.failure[1])
        return UpdateStatus("Successful")

    # ---- invoke ------------------------------------------------------------------------------
    def invoke(
        self,
        function_name: str,
        qualifier: str | None = None,
        payload: Any = None,
        invocation_type: str = "RequestResponse",
        *,
        log_type: str | None = None,
        at: datetime | None = None,
    ) -> InvokeResult:
        """Invoke like lambda:Invoke. `at` stamps the metrics (default: the clock's now)."""
        if isinstance(payload, bytes):
            body = payload
        elif isinstance(payload, str):
            body = payload.encode()
        else:
            body = json.dumps({} if payload is None else payload).encode()
        account, region = self._account_region(function_name)
        request = InvokeRequest(
            account=account,
            region=region,
            function_name=function_name,
            qualifier=qualifier,
            payload=body,
            invocation_type=invocation_type,
            log_type=log_type,
        )
        return self._handle(request, at)

    def handle_invoke(self, request: InvokeRequest) -> InvokeResult:
        return self._handle(request, None)

    def _account_region(self, function_name: str) -> tuple[str, str]:
        if function_name.startswith("arn:"):
            parts = function_name.split(":")
            return parts[4], parts[3]
        return self.account, self.region

    def _handle(self, request: InvokeRequest, at: datetime | None) -> InvokeResult:
        target = bridge.read_target(request.account, request.region, request.function_name, request.qualifier)
        version = self._choose_version(target)
        record = (
            target.latest
            if version == "$LATEST"
            else dataclasses.replace(
                bridge.read_version(request.account, request.region, target.function_name, version),
                reserved_concurrency=target.latest.reserved_concurrency,
            )
        )  # a function-level setting
        try:
            event = json.loads(request.payload or b"{}")
        except ValueError as error:
            raise LambdaServiceError(
                400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            ) from error
        if request.invocation_type == "DryRun":
            return InvokeResult(status_code=204, payload=b"")
        when = at or self.clock.now()
        asynchronous = request.invocation_type == "Event"
        dimension_sets = self._dimension_sets(target, record)
        invoked_arn = target.function_arn + (f":{target.qualifier}" if target.qualifier else "")

        attempts = 1 + (self.async_retries if asynchronous else 0)
        outcome: _Outcome | None = None
        for _ in range(attempts):
            if self._throttled(record, when):
                self._record(when, dimension_sets, throttled=True)
                if not asynchronous:
                    raise LambdaServiceError(
                        429,
                        "TooManyRequestsException",
                        "Rate Exceeded.",
                        Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
                    )
                outcome = _Outcome(b"", "Unhandled", 0.0, "", "TooManyRequestsException", "Rate Exceeded.")
                continue
            outcome = self._run(record, event, invoked_arn, when, request.client_context)
            self._occupy(record, when, outcome.duration_ms)
            self._record(
                when, dimension_sets, error=outcome.function_error is not None, duration_ms=outcome.duration_ms
            )
            if outcome.function_error is None:
                break
        assert outcome is not None
        if asynchronous:
            if outcome.function_error is not None:
                self._dead_letter(record, request.payload, outcome)
            return InvokeResult(status_code=202, payload=b"")
        log_result = None
        if (request.log_type or "").lower() == "tail":
            log_result = base64.b64encode(outcome.log.encode()[-4096:]).decode()
        return InvokeResult(
            status_code=200,
            payload=outcome.payload,
            function_error=outcome.function_error,
            executed_version=record.version,
            log_result=log_result,
        )

    def _choose_version(self, target: Target) -> str:
        if target.alias is None:
            return target.qualifier or "$LATEST"
        weights = target.alias.additional_weights
        # one random stream per alias: the draws of an alias's traffic come in the order of its
        # instants, whatever other threads invoke other aliases meanwhile (same seed, same routing)
        with self._state_lock:
            rng = self._routing_rngs.get(target.alias.arn)
            if rng is None:
                rng = self._routing_rngs[target.alias.arn] = random.Random(f"{self._seed}:{target.alias.arn}")
            draw = rng.random()
        cumulative = 0.0
        for version, weight in sorted(weights.items()):
            cumulative += weight
            if draw < cumulative:
                return version
        return target.alias.function_version

    @staticmethod
    def _dimension_sets(target: Target, record: FunctionRecord) -> list[tuple[tuple[str, str], ...]]:
        sets: list[tuple[tuple[str, str], ...]] = [(("FunctionName", target.function_name),)]
        if target.qualifier:
            resource = f"{target.function_name}:{target.qualifier}"
            sets.append((("FunctionName", target.function_name), ("Resource", resource)))
            if target.alias is not None:
                sets.append(
                    (
                        ("FunctionName", target.function_name),
                        ("Resource", resource),
                        ("ExecutedVersion", record.version),
                    )
                )
        return sets

    # ---- throttling ----------------------------------------------------------------------------
    def _limit(self, record: FunctionRecord) -> int | None:
        limits = [
            limit
            for limit in (self._settings(record.name).concurrency_limit, record.reserved_concurrency)
            if limit is not None
        ]
        return min(limits) if limits else None

    def _throttled(self, record: FunctionRecord, when: datetime) -> bool:
        limit = self._limit(record)
        if limit is None:
            return False
        settings = self._settings(record.name)
        with self._state_lock:
            settings.in_flight = [(s, e) for s, e in settings.in_flight if e > when]
            return sum(1 for s, _ in settings.in_flight if s <= when) >= limit

    def _occupy(self, record: FunctionRecord, when: datetime, duration_ms: float) -> None:
        if self._limit(record) is None:
            return
        with self._state_lock:
            self._settings(record.name).in_flight.append((when, when + timedelta(milliseconds=duration_ms)))

    # ---- running a handler ---------------------------------------------------------------------
    def _run(
        self, record: FunctionRecord, event: Any, invoked_arn: str, when: datetime, client_context: str | None
    ) -> _Outcome:
        request_id = self._request_id(record, when)
        environment, cold = self._acquire_environment(record, when)
        log = _InvocationLog(
            request_id=request_id,
            log_format=record.log_format,
            application_level=record.application_log_level,
            clock=self.clock,
            at=when,
        )
        init_failed = False
        with self._environment(record, environment.stream), self._captured(log):
            started = time.perf_counter()
            module: ModuleType | None = None
            error: tuple[str, str, list[str]] | None = None
            payload = b""
            try:
                loaded = self._load(record)
                module = loaded.module
                context = LambdaContext(
                    record=record,
                    invoked_function_arn=invoked_arn,
                    request_id=request_id,
                    deadline=self.clock.now() + timedelta(seconds=record.timeout),
                    clock=self.clock,
                    client_context=json.loads(base64.b64decode(client_context)) if client_context else None,
                    log_stream_name=environment.stream,
                )
                result = loaded.function(event, context)
                try:
                    payload = json.dumps(result).encode()
                except (TypeError, ValueError) as marshal_error:
                    error = ("Runtime.MarshalError", f"Unable to marshal response: {marshal_error}", [])
            except _InitError as init_error:
                error = (init_error.error_type, init_error.message, init_error.trace)
                init_failed = True
                warning = logging.LogRecord("root", logging.WARNING, "", 0, _INIT_ERROR_WARNING, (), None)
                log.record(warning, request_id="")  # the init phase has no request
                log.uncaught(*error)
            except Exception as raised:
                error = (type(raised).__name__, str(raised), _user_trace(raised))
                log.uncaught(*error)
            real_ms = (time.perf_counter() - started) * 1000.0
            log.close()
        modelled_ms = _simulated_latency(module, event)
        duration_ms = real_ms if modelled_ms is None else modelled_ms
        timed_out = modelled_ms is not None and modelled_ms > record.timeout * 1000.0
        if timed_out:
            # Lambda stops the invocation at its timeout: whatever the handler answered is lost
            duration_ms = record.timeout * 1000.0
            message = f"RequestId: {request_id} Error: Task timed out after {record.timeout:.2f} seconds"
            error, payload = ("Sandbox.Timedout", message, []), b""
        in_task_root = self._in_task_root(record)
        if error is not None:
            trace = [in_task_root(line) for line in error[2]]
            body = {"errorMessage": error[1], "errorType": error[0], "requestId": request_id, "stackTrace": trace}
            payload = json.dumps(body).encode()
        log.events[:] = [(at, in_task_root(message)) for at, message in log.events]
        # an init that failed leaves no environment; a timeout restarts the runtime in it
        delay = self._release_environment(record, environment, when, duration_ms, reset=timed_out, gone=init_failed)
        status = "timeout" if timed_out else ("error" if error is not None else "success")
        self._platform_lines(
            log, record, environment, when, duration_ms, cold=cold, status=status, error=error, init_failed=init_failed
        )
        text = log.text()
        self._settings(record.name).logs.append(text)
        self._write_logs(record, environment, log, when + timedelta(milliseconds=duration_ms + delay * 1000.0))
        if self.echo_logs:
            sys.__stderr__.write(text)  # type: ignore[union-attr]
        return _Outcome(
            payload=payload,
            function_error="Unhandled" if error else None,
            duration_ms=duration_ms,
            log=text,
            error_type=error[0] if error else None,
            error_message=error[1] if error else None,
        )

    def _in_task_root(self, record: FunctionRecord) -> Callable[[str], str]:
        """Paths of the extracted code as the function sees them on Lambda (/var/task/app.py), so
        tracebacks in answers and logs read as Lambda's (and the same run after run)."""
        root = str(self._code_path(record))
        image_root = f"{root}/var/task"
        return lambda text: text.replace(image_root, "/var/task").replace(root, "/var/task") if root in text else text

    def _request_id(self, record: FunctionRecord, when: datetime) -> str:
        """A UUID as Lambda gives each request, drawn from the seed, the function, the version and
        the instant (and how many came before at that instant), so the log lines quoted in evidence
        are the same run after run."""
        with self._state_lock:
            last, count = self._request_counts.get((record.name, record.version), (None, 0))
            count = count + 1 if last == when else 0
            self._request_counts[(record.name, record.version)] = (when, count)
        digest = hashlib.sha256(f"{self._seed}:{record.name}:{record.version}:{when.isoformat()}:{count}".encode())
        return str(uuid.UUID(bytes=digest.digest()[:16], version=4))

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

    def _platform_lines(
        self,
        log: _InvocationLog,
        record: FunctionRecord,
        environment: _Environment,
        when: datetime,
        duration_ms: float,
        *,
        cold: bool,
        status: str,
        error: tuple[str, str, list[str]] | None,
        init_failed: bool,
    ) -> None:
        """The runtime's own lines around the handler's: INIT_START on a cold start, START, the
        timeout line, END and REPORT (text); platform.initStart/start/runtimeDone/report (JSON)."""
        request_id, end = log.request_id, when + timedelta(milliseconds=duration_ms)
        runtime = record.runtime or "python3.12"
        runtime_version = f"{runtime.replace('python', 'python:')}.v{_RUNTIME_BUILD}"
        runtime_arn = f"arn:aws:lambda:{record.region}::runtime:{hashlib.sha256(runtime.encode()).hexdigest()}"
        billed = math.ceil(duration_ms + (environment.init_ms if cold else 0.0))  # the INIT phase is billed too
        before, after = [], []
        if log.json:
            if (record.system_log_level or "INFO").upper() in _SYSTEM_LOGS_SHOWN:
                if cold:
                    init = {
                        "initializationType": "on-demand",
                        "phase": "init",
                        "runtimeVersion": runtime_version,
                        "runtimeVersionArn": runtime_arn,
                        "functionName": record.name,
                        "functionVersion": record.version,
                    }
                    before.append((when, _platform(when, "platform.initStart", init)))
                before.append(
                    (when, _platform(when, "platform.start", {"requestId": request_id, "version": record.version}))
                )
                metrics: dict[str, Any] = {
                    "durationMs": round(duration_ms, 2),
                    "billedDurationMs": billed,
                    "memorySizeMB": record.memory_size,
                    "maxMemoryUsedMB": environment.memory_mb,
                }
                if cold:
                    metrics["initDurationMs"] = environment.init_ms
                done: dict[str, Any] = {"requestId": request_id, "status": status}
                report: dict[str, Any] = {"requestId": request_id, "metrics": metrics, "status": status}
                if status != "success" and error is not None:
                    done["errorType"] = report["errorType"] = error[0]
                done["metrics"] = {"durationMs": round(duration_ms, 2)}
                after.append((end, _platform(end, "platform.runtimeDone", done)))
                after.append((end, _platform(end, "platform.report", report)))
        else:
            if cold:
                before.append(
                    (when, f"INIT_START Runtime Version: {runtime_version}\tRuntime Version ARN: {runtime_arn}\n")
                )
            before.append((when, f"START RequestId: {request_id} Version: {record.version}\n"))
            if status == "timeout":
                after.append(
                    (end, f"{_timestamp(end)} {request_id} Task timed out after {record.timeout:.2f} seconds\n")
                )
            after.append((end, f"END RequestId: {request_id}\n"))
            report_line = (
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms"
                f"\tMemory Size: {record.memory_size} MB\tMax Memory Used: {environment.memory_mb} MB"
            )
            if cold:
                report_line += f"\tInit Duration: {environment.init_ms:.2f} ms"
            if status == "timeout":
                report_line += "\tStatus: timeout"
            elif init_failed and error is not None:
                report_line += f"\tStatus: error\tError Type: {error[0]}"
            after.append((end, report_line + "\n"))
        log.events[:] = before + log.events + after

    def _write_logs(
        self, record: FunctionRecord, environment: _Environment, log: _InvocationLog, ingested: datetime
    ) -> None:
        """The invocation's events into CloudWatch Logs, readable from `ingested` on."""
        ingestion_ms = int(ingested.timestamp() * 1000)
        events = [
            bridge.FunctionLogEvent(int(at.timestamp() * 1000), max(ingestion_ms, int(at.timestamp() * 1000)), m)
            for at, m in log.events
        ]
        retention = self.log_retention_seconds
        oldest_ms = None if retention is None else ingestion_ms - int(retention * 1000)
        try:
            bridge.put_function_log_events(
                record.account, record.region, record.log_group, environment.stream, events, oldest_ms=oldest_ms
            )
        except Exception:  # the logs are evidence, never a reason for the invocation to fail
            LOG.warning("could not write the logs of %s to CloudWatch Logs", record.name, exc_info=True)

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

    def _code_path(self, record: FunctionRecord) -> Path:
        return self._code_root / re.sub(r"[^A-Za-z0-9]", "_", record.code_sha256 or "nocode")

    def _code_dir(self, record: FunctionRecord) -> Path:
        directory = self._code_path(record)
        image = self._image(record) if record.package_type == "Image" else None
        if not directory.exists():
            staging = Path(tempfile.mkdtemp(dir=self._code_root, prefix=".extract-"))
            if image is None:
                with zipfile.ZipFile(io.BytesIO(record.code_bytes)) as archive:
                    archive.extractall(staging)
            else:
                for layer in image.layers:  # in order: a later layer's files replace an earlier one's
                    with tarfile.open(fileobj=io.BytesIO(layer)) as archive:
                        archive.extractall(staging, filter="data")
            try:
                staging.rename(directory)
            except OSError:  # another thread extracted the same code first
                shutil.rmtree(staging, ignore_errors=True)
        return directory / image.working_dir.lstrip("/") if image is not None else directory

    def _image(self, record: FunctionRecord) -> _Image:
        """The image an image function's version runs: by the digest Lambda resolved (its
        CodeSha256), in the repository its ImageUri names. An image missing from ECR cannot start."""
        uri = record.image_uri or ""
        repository = uri.split("/", 1)[-1].split("@", 1)[0]
        if ":" in repository:
            repository = repository.rsplit(":", 1)[0]
        key = (record.account, repository, record.code_sha256)
        cached = self._images.get(key)
        if cached is not None:
            return cached
        try:
            found = bridge.read_image(record.account, record.region, repository, f"sha256:{record.code_sha256}")
            config = json.loads(found.blobs[found.manifest["config"]["digest"]]).get("config") or {}
            layers = tuple(found.blobs[layer["digest"]] for layer in found.manifest.get("layers") or [])
        except (LookupError, KeyError, ValueError) as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: image {uri} cannot be read: {error}", []
            ) from error
        image = _Image(layers, tuple(config.get("Cmd") or ()), str(config.get("WorkingDir") or "/var/task"))
        self._images[key] = image
        return image

    def _with_image_handler(self, record: FunctionRecord) -> FunctionRecord:
        """An image function's record with its handler: ImageConfig's Command, else the image's CMD."""
        command = record.image_command or self._image(record).command
        if not command:
            raise _InitError("Runtime.InvalidEntrypoint", f"{record.name}: the image has no CMD (the handler)", [])
        return dataclasses.replace(record, handler=command[0])

    def _load(self, record: FunctionRecord) -> _LoadedHandler:
        if record.package_type == "Image":
            record = self._with_image_handler(record)
        cached = self._handlers.get(self._handler_key(record))
        if cached is not None:  # warm: no lock, so traffic never waits for another function's import
            return cached
        with self._load_lock:  # one import at a time: sys.path and sys.modules are shared
            return self._load_locked(record)

    @staticmethod
    def _handler_key(record: FunctionRecord) -> tuple[Any, ...]:
        # One execution environment per code, handler and environment (each version gets its own
        # on AWS); the environment matters for code that reads it at import.
        return (record.code_sha256, record.handler, frozenset(record.environment.items()))

    def _load_locked(self, record: FunctionRecord) -> _LoadedHandler:
        if record.package_type == "Zip" and not record.code_bytes:
            raise _InitError("Runtime.InvalidEntrypoint", f"{record.name}: the zip package has no code", [])
        module_name, _, function_name = record.handler.rpartition(".")
        if not module_name:
            raise _InitError("Runtime.MalformedHandlerName", f"Bad handler '{record.handler}'", [])
        module_name = module_name.replace("/", ".")
        key = self._handler_key(record)
        cached = self._handlers.get(key)
        if cached is not None:
            return cached
        try:
            directory = self._code_dir(record)
        except zipfile.BadZipFile as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: the code is not a zip: {error}", []
            ) from error
        except tarfile.TarError as error:
            raise _InitError(
                "Runtime.InvalidEntrypoint", f"{record.name}: an image layer is not a tar archive: {error}", []
            ) from error
        own_code = any((directory / package).is_dir() for package in self.own_packages)
        if own_code and not self._own_code_started:
            self._own_code_started = True
            self._cold_start_own_packages()
        try:
            if own_code:
                if str(directory) not in sys.path:
                    sys.path.append(str(directory))
                    self._added_paths.append(str(directory))
                module = importlib.import_module(module_name)
                if "print" not in vars(module):
                    module.print = _invocation_print  # type: ignore[attr-defined]
            else:
                module = self._load_isolated(directory, module_name, repr(key))
        except ImportError as error:
            raise _InitError(
                "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}", []
            ) from error
        except SyntaxError as error:
            raise _InitError(
                "Runtime.UserCodeSyntaxError",
                f"Syntax error in module '{module_name}': {error}",
                [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}'],
            ) from error
        except Exception as error:
            raise _InitError(type(error).__name__, str(error), _user_trace(error)) from error
        handler = getattr(module, function_name, None)
        if not callable(handler):
            raise _InitError(
                "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'", []
            )
        loaded = _LoadedHandler(function=handler, module=module)
        self._handlers[key] = loaded
        return loaded

    def _cold_start_own_packages(self) -> None:
        """A new data plane is a new set of execution environments. Own code is imported once per
        process, so what its modules cached at module level for a previous runtime (the STYLE's
        lazily built `_deps()`: clients, settings, the clock) is cleared, and the next invocation
        builds it again from this runtime's environment, as a cold start does on Lambda."""
        for name, module in list(sys.modules.items()):
            if module is None or name.split(".")[0] not in self.own_packages:
                continue
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()

    @staticmethod
    def _load_isolated(directory: Path, module_name: str, key: str) -> ModuleType:
        relative = Path(*module_name.split("."))
        path = directory / relative.with_suffix(".py")
        if not path.exists() and (directory / relative / "__init__.py").exists():
            path = directory / relative / "__init__.py"
        if not path.exists():
            raise ModuleNotFoundError(f"No module named '{module_name}'")
        unique = "_rollgate_fn_" + hashlib.sha256(key.encode()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(f"{unique}.{module_name}".replace(".", "_"), path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        module.print = _invocation_print  # type: ignore[attr-defined]  # its own `def print` wins
        sys.modules[spec.name] = module
        sys.path.insert(0, str(directory))  # sibling modules of the handler resolve, as in /var/task
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(spec.name, None)
            raise
        finally:
            if str(directory) in sys.path:
                sys.path.remove(str(directory))
        return module

    # ---- dead-letter queue ---------------------------------------------------------------------
    def _dead_letter(self, record: FunctionRecord, payload: bytes, outcome: _Outcome) -> None:
        target = record.dead_letter_arn
        if not target:
            LOG.info("async invocation of %s failed and it has no DeadLetterConfig", record.name)
            return
        attributes = {
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {
                "DataType": "String",
                "StringValue": (outcome.error_message or outcome.error_type or "error")[:1024],
            },
        }
        body = payload.decode() or "{}"
        if ":sqs:" in target:
            _, _, _, _, account, queue_name = target.split(":", 5)
            sqs = self._clients("sqs")
            url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        elif ":sns:" in target:
            self._clients("sns").publish(TopicArn=target, Message=body, MessageAttributes=attributes)
        else:
            LOG.warning("unsupported DeadLetterConfig target %s", target)

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


def _simulated_latency(module: ModuleType | None, event: Any) -> float | None:
    """The handler module's modelled Duration of this event; None without one (or if it fails)."""
    latency = getattr(module, "SIMULATED_LATENCY_MS", None) if module is not None else None
    if latency is None:
        return None
    try:
        value = latency(event) if callable(latency) else latency
        return max(0.0, float(value))
    except Exception:
        return None


def _platform(at: datetime, kind: str, record: dict[str, Any]) -> str:
    """A platform record of the JSON log format."""
    return json.dumps({"time": _timestamp(at), "type": kind, "record": record}) + "\n"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _user_trace(error: BaseException) -> list[str]:
    """The stack trace as the Python runtime reports it: frames of the user's code only."""
    frames = traceback.extract_tb(error.__traceback__)
    here = os.path.abspath(__file__)
    user = [frame for frame in frames if os.path.abspath(frame.filename) != here]
    return traceback.format_list(user)
