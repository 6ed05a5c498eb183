"""A later revert (Remediate, or a release's atomic rollback) puts the provisioned concurrency back
on the version it restores: after the alias moves, without waiting for READY, once."""

from __future__ import annotations

from typing import Any

import pytest

from rollgate.domain.remediate.remediation import assess, remediate, start_remediation
from rollgate.domain.shared.errors import ConcurrencyNotReady
from rollgate.domain.shared.ports import AliasRouting
from rollgate.domain.shared.revert import RevertReport, revert_promotion
from tests.unit.fakes import FakeClock, FakeLambda, FakeLedger

FUNCTION = "orders-api"


class RecordingLambda(FakeLambda):
    """The fake, with the order of the calls that change something."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[str] = []

    def update_alias(
        self, function_name: str, alias: str, *, version: str, additional_weights: dict[str, float], revision_id: str
    ) -> AliasRouting:
        self.changes.append(f"alias->{version}")
        return super().update_alias(
            function_name, alias, version=version, additional_weights=additional_weights, revision_id=revision_id
        )

    def put_provisioned_concurrency(self, function_name: str, qualifier: str, executions: int) -> None:
        self.changes.append(f"put:{qualifier}={executions}")
        super().put_provisioned_concurrency(function_name, qualifier, executions)

    def delete_provisioned_concurrency(self, function_name: str, qualifier: str) -> None:
        self.changes.append(f"delete:{qualifier}")
        super().delete_provisioned_concurrency(function_name, qualifier)


def _promoted(
    lam: RecordingLambda, ledger: FakeLedger, clock: FakeClock, *, baseline_pc: int, promoted_pc: int
) -> None:
    """v2 promoted over v1, as DeployFunction leaves it: v1's allocation released, v2's READY."""
    lam.add_function(FUNCTION, b"v1")
    fn = lam.functions[FUNCTION]
    fn.versions["2"] = fn.versions["1"]
    lam.update_alias(FUNCTION, "live", version="2", additional_weights={}, revision_id=fn.aliases["live"].revision_id)
    if promoted_pc:
        lam.put_provisioned_concurrency(FUNCTION, "2", promoted_pc)
        lam.get_provisioned_concurrency(FUNCTION, "2")
        lam.get_provisioned_concurrency(FUNCTION, "2")  # READY
    lam.changes.clear()
    lam.pc_puts.clear()
    preflight = {"check": "provisioned_concurrency", "ok": True, "detail": "…", "data": {"live": baseline_pc}}
    ledger.put_deployment(
        {
            "deployment_id": f"{clock.now():%Y%m%dT%H%M%SZ}-deploy",
            "kind": "deployment",
            "function_name": FUNCTION,
            "alias": "live",
            "status": "PROMOTED",
            "from_version": "1",
            "to_version": "2",
            "reason": "v2 promoted",
            "started_at": clock.now().isoformat(),
            "finished_at": clock.now().isoformat(),
            "evidence": {"preflight": [preflight]},
            "request": {"smoke_tests": [{"name": "ping", "payload": {}}]},
        }
    )


def _revert(lam: FakeLambda, ledger: FakeLedger, clock: FakeClock, holder: str = "revert-1") -> RevertReport:
    return revert_promotion(
        FUNCTION,
        "live",
        promoted_version="2",
        restore_version="1",
        smoke_tests=[],
        holder=holder,
        lambda_api=lam,
        ledger=ledger,
        clock=clock,
    )


def _note(report: RevertReport, check: str) -> Any:
    (note,) = [e for e in report.evidence if e.check == check]
    return note


@pytest.fixture
def world() -> tuple[RecordingLambda, FakeLedger, FakeClock]:
    return RecordingLambda(), FakeLedger(), FakeClock()


def test_an_alarm_remediation_restores_the_allocation_after_moving_the_alias(world: Any) -> None:
    # given: v2 promoted with 5 warm environments, v1's released by the promotion
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)
    ctx = start_remediation(
        {"function_name": FUNCTION, "reason": "p99 alarm"},
        {"Name": "r1"},
        alarm_tags={},
        default_lookback_minutes=60,
        clock=clock,
    )
    # when
    ctx = remediate(assess(ctx, ledger=ledger, lambda_api=lam, clock=clock), ledger=ledger, lambda_api=lam, clock=clock)
    # then: the alias first, then v1 warm again, then v2's allocation released
    assert ctx.report is not None and ctx.report.status == "RESTORED"
    assert lam.changes == ["alias->1", "put:1=5", "delete:2"]
    restored = _note(ctx.report, "concurrency_restored")
    # not waited for: the status it had when the revert ended is on record
    assert restored.ok and restored.data == {"version": "1", "executions": 5, "allocated": 0, "status": "IN_PROGRESS"}
    assert "released v2's provisioned concurrency (5)" in _note(ctx.report, "concurrency_released").detail


def test_a_rerun_changes_nothing_twice(world: Any) -> None:
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)
    _revert(lam, ledger, clock)
    lam.changes.clear()
    # when: the same revert again (a retried task, a console rerun)
    again = _revert(lam, ledger, clock, holder="revert-2")
    # then
    assert again.status == "ALREADY_RESTORED" and lam.changes == []
    assert "v1 already has 5 provisioned environment(s); status READY" in _note(again, "concurrency_restored").detail


def test_a_crash_after_the_alias_moved_is_finished_by_the_rerun(world: Any) -> None:
    # given: a revert that moved the alias and died before touching the allocations
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)
    fn = lam.functions[FUNCTION]
    lam.update_alias(FUNCTION, "live", version="1", additional_weights={}, revision_id=fn.aliases["live"].revision_id)
    lam.changes.clear()
    # when
    report = _revert(lam, ledger, clock)
    # then
    assert report.status == "ALREADY_RESTORED" and lam.changes == ["put:1=5", "delete:2"]


def test_the_promoted_versions_allocation_is_what_the_restored_version_gets(world: Any) -> None:
    # given: the team raised v2 to 12 environments after the promotion (its baseline had 5)
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=12)
    # when
    _revert(lam, ledger, clock)
    # then: the traffic it serves now is what the restored version must carry
    assert lam.changes == ["alias->1", "put:1=12", "delete:2"]


def test_without_the_promoted_allocation_the_baseline_in_the_ledger_is_used(world: Any) -> None:
    # given: v2's allocation already gone (deleted by hand); the promotion's preflight saw 3 on v1
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=3, promoted_pc=0)
    # when
    report = _revert(lam, ledger, clock)
    # then
    assert lam.changes == ["alias->1", "put:1=3"]
    assert "its baseline in the ledger" in _note(report, "concurrency_restored").detail


def test_an_allocation_another_alias_routes_to_is_kept(world: Any) -> None:
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)
    lam.functions[FUNCTION].aliases["beta"] = AliasRouting("beta", "2", {}, "rev-beta")
    report = _revert(lam, ledger, clock)
    assert lam.changes == ["alias->1", "put:1=5"]
    assert "alias(es) beta still route to it" in _note(report, "concurrency_released").detail


def test_a_larger_allocation_already_on_the_restored_version_is_left_alone(world: Any) -> None:
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)
    lam.put_provisioned_concurrency(FUNCTION, "1", 8)  # someone else's, for another alias
    lam.changes.clear()
    _revert(lam, ledger, clock)
    assert lam.changes == ["alias->1", "delete:2"]


def test_a_function_without_provisioned_concurrency_gets_no_concurrency_step(world: Any) -> None:
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=0, promoted_pc=0)
    report = _revert(lam, ledger, clock)
    assert lam.changes == ["alias->1"]
    assert not [e for e in report.evidence if e.check.startswith("concurrency")]


def test_lambda_refusing_the_allocation_is_recorded_and_the_revert_stands(world: Any) -> None:
    # given: the account has no unreserved concurrency left for v1's environments
    lam, ledger, clock = world
    _promoted(lam, ledger, clock, baseline_pc=5, promoted_pc=5)

    def refuse(function_name: str, qualifier: str, executions: int) -> None:
        raise ConcurrencyNotReady(f"Lambda refused {executions} provisioned environment(s)")

    lam.put_provisioned_concurrency = refuse  # type: ignore[method-assign]
    # when
    report = _revert(lam, ledger, clock)
    # then: the alias is back; the allocation's failure is in the evidence, v2's allocation kept
    assert report.status == "RESTORED" and lam.get_alias(FUNCTION, "live").version == "1"
    note = _note(report, "concurrency_restored")
    assert not note.ok and "ConcurrencyNotReady" in note.detail and "check it by hand" in note.detail
    assert lam.changes == ["alias->1"]
