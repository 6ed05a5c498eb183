"""The contract module: one vocabulary that the state machines, the tasks and the CLI all read."""

from __future__ import annotations

import importlib

import pytest

from rollgate import contract
from rollgate.contract import Status
from rollgate.domain.deploy.outcome import DEPLOYMENT_ANNOUNCEMENT
from rollgate.domain.release.waves import RELEASE_ANNOUNCEMENT
from rollgate.domain.remediate.remediation import REMEDIATION_ANNOUNCEMENT


@pytest.mark.parametrize("enum", [contract.Status, contract.CanaryNext, contract.WatchNext, contract.ReleaseNext])
def test_every_member_is_named_as_its_value_so_plain_strings_find_it(enum: type) -> None:
    for member in enum:
        assert member == member.value
        # a plain string finds the member in a set of members (the success sets are read so)
        assert member.value in frozenset({member})


def test_every_step_names_a_task_module_with_a_handler_and_no_state_twice() -> None:
    steps = (*contract.DEPLOY_STEPS, *contract.RELEASE_STEPS, *contract.REMEDIATE_STEPS)
    assert len({s.state for s in steps}) == len(steps)
    assert sum(len(s) for s in contract.STEPS_BY_PACKAGE.values()) == len(steps)
    for package, package_steps in contract.STEPS_BY_PACKAGE.items():
        for step in package_steps:
            module_name, _, function = contract.task_handler(package, step.task).rpartition(".")
            assert callable(getattr(importlib.import_module(module_name), function)), step


def test_result_keys_and_paths_come_from_the_steps() -> None:
    assert contract.RESULT_KEYS["JudgeCanary"] == "canary"
    assert contract.step("Validate").result_path == "$"
    assert contract.step("Record").result_path == "$.result"
    assert "Validate" not in contract.RESULT_KEYS  # its record is the whole state document
    assert set(contract.RESULT_KEYS) >= contract.RECORD_STATES


def test_outcome_sets_and_error_names_come_from_the_one_status_enum() -> None:
    assert contract.DEPLOY_SUCCESS <= contract.DEPLOY_STATUSES
    assert contract.RELEASE_SUCCESS <= contract.RELEASE_STATUSES
    assert contract.REMEDIATION_SUCCESS <= contract.REMEDIATION_STATUSES
    assert contract.DEPLOY_ERRORS[contract.Status.ROLLED_BACK] == "DeploymentRolledBack"
    assert contract.INVALID_REQUEST == "InvalidRequest"
    assert set(contract.DEPLOY_ERRORS) <= contract.DEPLOY_STATUSES
    assert set(contract.RELEASE_ERRORS) <= contract.RELEASE_STATUSES


def test_the_records_next_fields_take_exactly_the_contracts_answers() -> None:
    from typing import get_args

    from rollgate.domain.shared.models import CanaryProgress, WatchProgress

    assert set(get_args(CanaryProgress.model_fields["next"].annotation)) == {n.value for n in contract.CanaryNext}
    assert set(get_args(WatchProgress.model_fields["next"].annotation)) == {n.value for n in contract.WatchNext}


def test_every_outcome_of_every_workflow_has_its_event_detail_type() -> None:
    # the notifications rule and the consumers of the bus match these names
    assert DEPLOYMENT_ANNOUNCEMENT.detail_types == {
        Status.PROMOTED: "Deployment Promoted",
        Status.ROLLED_BACK: "Deployment Rolled Back",
        Status.REJECTED: "Deployment Rejected",
        Status.FAILED: "Deployment Failed",
        Status.ABORTED: "Deployment Aborted",
    }
    assert RELEASE_ANNOUNCEMENT.detail_types[Status.PARTIAL] == "Release Partial"
    assert set(RELEASE_ANNOUNCEMENT.detail_types) == contract.RELEASE_STATUSES
    assert REMEDIATION_ANNOUNCEMENT.detail_types[Status.ABORT_REQUESTED] == "Remediation Abort Requested"
    assert REMEDIATION_ANNOUNCEMENT.detail_types[Status.NO_ACTION] == "Remediation No Action"
    assert set(REMEDIATION_ANNOUNCEMENT.detail_types) == contract.REMEDIATION_STATUSES
