"""Invoke: alias weights, throttling, the handler run with its context, timeouts, errors as the
Python runtime reports them, async retries and the dead-letter queue.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import logging
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from rollgate_local import bridge
from rollgate_local.bridge import (
    FunctionRecord,
    InvokeRequest,
    InvokeResult,
    LambdaServiceError,
    Target,
)
from rollgate_local.data_plane.base import LOG
from rollgate_local.data_plane.environment import Environments
from rollgate_local.data_plane.logs import LogWriting
from rollgate_local.data_plane.metrics import Metrics
from rollgate_local.data_plane.output import _INIT_ERROR_WARNING, _InvocationLog, _user_trace
from rollgate_local.data_plane.records import _InitError, _Outcome
from rollgate_local.data_plane.updates import Updates


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


class Invoking(Metrics, Updates, Environments, LogWriting):
    """Invoke: the version an alias routes to, throttling, the handler run, async retries and the
    dead-letter queue."""

    def set_concurrency_limit(self, function_name: str, limit: int | None) -> None:
        """Throttle invocations beyond `limit` overlapping in virtual time (None: no limit)."""
        self._settings(function_name).concurrency_limit = limit

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
