"""Updates and provisioned concurrency: LastUpdateStatus InProgress for the update time (or a
planned failure), allocations IN_PROGRESS then READY (or FAILED).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rollgate_local.bridge import (
    UpdateStatus,
)
from rollgate_local.data_plane.base import DataPlaneBase
from rollgate_local.data_plane.records import _Allocation, _Update


class Updates(DataPlaneBase):
    """LastUpdateStatus after an update (its delay, a planned failure) and provisioned-concurrency
    allocations: the bridge's hooks for both."""

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
