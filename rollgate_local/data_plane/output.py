"""Output routing: what an invocation prints, writes to stdout/stderr or logs, captured as its log
(the routing streams in sys.stdout/sys.stderr, the runtime's log handler, the routed `print`).
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import sys
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

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


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _user_trace(error: BaseException) -> list[str]:
    """The stack trace as the Python runtime reports it: frames of the user's code only."""
    frames = traceback.extract_tb(error.__traceback__)
    here = os.path.dirname(os.path.abspath(__file__))  # the data plane's own modules
    user = [frame for frame in frames if os.path.dirname(os.path.abspath(frame.filename)) != here]
    return traceback.format_list(user)
