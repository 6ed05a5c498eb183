"""The bridge's contract with the data plane (``rollgate_local.data_plane``).

DataPlaneHooks (Protocol): handle_invoke(InvokeRequest) -> InvokeResult,
    function_updated(account, region, function_name), update_status(account, region,
    function_name) -> UpdateStatus | None, flush_metrics()
ProvisionedConcurrencyHooks (Protocol): what the data plane serves for patch 29
BridgeClock (Protocol): the runtime clock the patches read and wait on
InvokeRequest, InvokeResult, UpdateStatus, LambdaServiceError
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class InvokeRequest:
    account: str
    region: str
    function_name: str  # name, "name:qualifier", or (qualified) ARN
    qualifier: str | None
    payload: bytes
    invocation_type: str = "RequestResponse"  # RequestResponse | Event | DryRun
    log_type: str | None = None  # "Tail" to get the last 4 KB of log in log_result
    client_context: str | None = None


@dataclass
class InvokeResult:
    status_code: int
    payload: bytes
    function_error: str | None = None  # "Unhandled" like the Lambda runtime
    executed_version: str | None = None
    log_result: str | None = None  # base64, only when asked with log_type Tail

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class LambdaServiceError(Exception):
    """An error of the Lambda service itself (not of the function), e.g. throttling."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class UpdateStatus:
    status: str  # InProgress | Successful | Failed
    reason: str | None = None
    reason_code: str | None = None


class DataPlaneHooks(Protocol):
    def handle_invoke(self, request: InvokeRequest) -> InvokeResult: ...
    def function_updated(self, account: str, region: str, function_name: str) -> None: ...
    def update_status(self, account: str, region: str, function_name: str) -> UpdateStatus | None: ...
    def flush_metrics(self) -> None: ...


class ProvisionedConcurrencyHooks(Protocol):
    """What patch 29 asks the data plane (optional: without it the calls stay unimplemented)."""

    def put_provisioned_concurrency(
        self, account: str, region: str, function_name: str, qualifier: str, executions: int
    ) -> dict[str, Any]: ...
    def provisioned_concurrency(self, account: str, region: str, function_name: str) -> dict[str, dict[str, Any]]: ...
    def delete_provisioned_concurrency(self, account: str, region: str, function_name: str, qualifier: str) -> bool: ...


class BridgeClock(Protocol):
    virtual: bool

    def now(self) -> _dt.datetime: ...
    def timestamp(self) -> float: ...
    def sleep(self, virtual_seconds: float) -> None: ...
    def wait_on(self, event: Any, virtual_seconds: float | None) -> bool: ...
