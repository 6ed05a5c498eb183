"""Evidence kinds kept apart: synthetic probes can fail a release but never make it healthy or stand
in for organic samples; failed reads are an operational INCONCLUSIVE, never a verdict."""

from __future__ import annotations

from datetime import timedelta

from rollgate.domain.judge.health import CheckStatus, EvidenceKind, Outcome, SyntheticSeries
from rollgate.domain.judge.verdict import judge
from tests.unit.test_judge import POLICY, T0, canary_window, periods


def _check(verdict, name):
    return next(c for c in verdict.checks if c.name == name)


def test_two_failures_in_seven_organic_invocations_are_not_diluted_by_200_synthetic_successes():
    # given 2 of 7 organic canary invocations failing (stable clean) and 200 successful probes
    window = canary_window(
        [*periods(1, 4, 1), *periods(1, 3, 1, start=T0 + timedelta(minutes=1))],
        periods(2, 60, 0),
        synthetic=SyntheticSeries(version="7", sent=200, failed=0),
    )
    # when
    verdict = judge(window, POLICY)
    # then
    assert verdict.outcome is not Outcome.HEALTHY
    assert verdict.samples_seen == 7


def test_zero_organic_invocations_and_100_synthetic_successes_are_not_healthy():
    window = canary_window(
        periods(3, None), periods(3, 60, 0), synthetic=SyntheticSeries(version="7", sent=100, failed=0)
    )
    verdict = judge(window, POLICY)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.samples_seen == 0
    assert _check(verdict, "synthetic").status is CheckStatus.PASS
    assert _check(verdict, "synthetic").kind is EvidenceKind.SYNTHETIC


def test_failing_synthetic_probes_fail_the_release_and_say_so():
    window = canary_window(
        periods(3, None),
        periods(3, 60, 0),
        synthetic=SyntheticSeries(version="7", sent=100, failed=70, failures=["KeyError: 'sku'"]),
    )
    verdict = judge(window, POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY
    assert verdict.decided_by is EvidenceKind.SYNTHETIC
    assert "KeyError" in verdict.summary


def test_probes_failing_with_a_downstream_incident_are_compared_with_the_control_probes():
    # given 30 of 100 probes failing: with the previous version's probes failing alike it is an
    # incident; against clean control probes it is the build; without a control it waits for 50%
    incident = SyntheticSeries(version="6", sent=100, failed=28)
    clean = SyntheticSeries(version="6", sent=100, failed=1)
    probes = SyntheticSeries(version="7", sent=100, failed=30)
    for control, expected in ((incident, CheckStatus.PASS), (clean, CheckStatus.FAIL), (None, CheckStatus.PASS)):
        window = canary_window(periods(3, 100, 0), periods(3, 900, 0), synthetic=probes, synthetic_control=control)
        assert _check(judge(window, POLICY), "synthetic").status is expected


def test_failed_metric_reads_are_inconclusive_and_operational_never_unhealthy():
    # given reads that failed: what the producer could read looks like a burning canary
    window = canary_window(periods(3, 50, 25), [], read_failures=["GetMetricData: ThrottlingException after 5 tries"])
    verdict = judge(window, POLICY)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.decided_by is EvidenceKind.OPERATIONAL
    assert "ThrottlingException" in verdict.summary


def test_a_paired_canary_verdict_is_decided_by_organic_paired_evidence():
    verdict = judge(canary_window(periods(5, 100, 0), periods(5, 900, 0)), POLICY)
    assert verdict.outcome is Outcome.HEALTHY
    assert verdict.decided_by is EvidenceKind.ORGANIC_PAIRED
