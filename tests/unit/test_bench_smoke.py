"""The benchmark end to end on a tiny corpus: the results have the shape the issue asks for, the
run is reproducible, and the policies behave as their definitions say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report, runner
from bench.corpus import FAMILIES, GOOD_FAMILIES, make_corpus

SEED = 7
SCENARIOS = 40
POLICIES = ("rollgate", "codedeploy_alarm", "sfn_sample", "flagger_style")
FIELDS = (
    "detection_rate",
    "false_rollback_rate",
    "median_time_to_detect_s",
    "p90_time_to_detect_s",
    "bad_invocations_served",
    "undecided",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict, dict[str, Path]]:
    records, seconds = runner.run(SCENARIOS, SEED, workers=1, policies=POLICIES)
    summary = report.summarize(records, seed=SEED, runtime_s=seconds, policy_notes={})
    out = tmp_path_factory.mktemp("results")
    paths = report.write(records, summary, out)
    return records, summary, paths


def test_the_json_has_the_shape_of_the_issue(tiny_run):
    # given the benchmark ran on 40 scenarios
    _, _, paths = tiny_run
    # when the written JSON is read back
    document = json.loads(paths["json"].read_text())
    # then
    assert document["scenarios"] == SCENARIOS
    assert set(document["policies"]) == set(POLICIES)
    for metrics in document["policies"].values():
        assert set(FIELDS) <= set(metrics)
    assert set(document["families"]) <= set(FAMILIES)
    for by_policy in document["families"].values():
        assert set(by_policy) == set(POLICIES)
        assert all(set(FIELDS) <= set(m) for m in by_policy.values())


def test_the_markdown_table_and_the_chart_are_written(tiny_run):
    _, _, paths = tiny_run
    table = paths["md"].read_text()
    assert "| policy | detection | false rollbacks |" in table
    assert all(f"| {p} |" in table for p in POLICIES)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rates_are_fractions_and_counts_add_up(tiny_run):
    records, summary, _ = tiny_run
    bad = sum(r["bad"] for r in records)
    for metrics in summary["policies"].values():
        assert 0 <= metrics["detection_rate"] <= 1
        assert 0 <= metrics["false_rollback_rate"] <= 1
        assert metrics["bad_releases"] == bad
        assert metrics["bad_releases"] + metrics["good_releases"] == SCENARIOS


def test_the_same_seed_gives_the_same_corpus_and_results(tiny_run):
    records, _, _ = tiny_run
    again, _ = runner.run(SCENARIOS, SEED, workers=1, policies=("rollgate",))
    assert [r["results"]["rollgate"] for r in again] == [r["results"]["rollgate"] for r in records]
    assert make_corpus(SCENARIOS, SEED) == make_corpus(SCENARIOS, SEED)


def test_rollgate_never_promotes_a_bad_release_it_had_no_data_on(tiny_run):
    records, summary, _ = tiny_run
    assert summary["policies"]["rollgate"]["bad_promoted_without_data"] == 0
    for r in records:
        result = r["results"]["rollgate"]
        if result["decision"] == "promoted":
            assert result["evidence_invocations"] > 0


def test_total_failures_are_rolled_back_by_rollgate(tiny_run):
    records, _, _ = tiny_run
    total = [r for r in records if r["family"] == "error_total"]
    assert total, "the tiny corpus should hold a total failure"
    assert all(r["results"]["rollgate"]["decision"] == "rollback" for r in total)


def test_a_fix_released_while_the_old_alarm_fires_is_blocked_by_codedeploy_but_not_by_rollgate(tiny_run):
    records, _, _ = tiny_run
    fixes = [r for r in records if r["family"] == "fix_while_alarm"]
    assert fixes, "the tiny corpus should hold a fix released under a firing alarm"
    assert all(r["family"] in GOOD_FAMILIES for r in fixes)
    assert all(r["results"]["codedeploy_alarm"]["decision"] == "rollback" for r in fixes)
    assert all(r["results"]["rollgate"]["decision"] == "promoted" for r in fixes)


def test_the_sample_sees_no_data_in_the_last_minute_and_calls_it_healthy(tiny_run):
    # CloudWatch publishes 1-3 min late, so "Errors > 0 over the last minute" never sees an error
    records, _, _ = tiny_run
    assert all(r["results"]["sfn_sample"]["decision"] == "promoted" for r in records)
