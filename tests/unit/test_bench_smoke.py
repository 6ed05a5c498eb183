"""The benchmark end to end on a tiny corpus: splits that cannot leak, results of the shape the report
reads, reproducible runs, and baselines that behave as their definitions say."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rollgate_bench import report, runner
from rollgate_bench.corpus import (
    FAMILIES,
    GOOD_FAMILIES,
    SPLITS,
    TEST,
    TRAIN,
    alarm_threshold,
    families_of,
    make_corpus,
    make_scenario,
    seeds_of,
)
from rollgate_bench.policies import tuned_threshold
from rollgate_bench.world import World

PER_SEED = 4
POLICIES = ("rollgate", "codedeploy_alarm", "codedeploy_tuned", "sfn_sample", "flagger_style")
FIELDS = (
    "detection_rate",
    "detection_rate_visible",
    "false_rollback_rate",
    "bad_promoted",
    "median_time_to_detect_s",
    "median_ttd_error_ge_1rps_periods",
    "bad_invocations_served",
    "undecided",
    "promoted_synthetic_only_unflagged",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict, dict[str, Path]]:
    records, seconds = runner.run(SPLITS, 1, PER_SEED, workers=1, policies=POLICIES)
    summary = report.summarize(records, runtime_s=seconds, per_seed=PER_SEED, policy_notes={})
    paths = report.write(records, summary, tmp_path_factory.mktemp("results"))
    return records, summary, paths


def test_train_and_test_share_no_family_and_no_seed():
    assert set(families_of(TRAIN)).isdisjoint(families_of(TEST))
    assert set(families_of(TRAIN)) | set(families_of(TEST)) == set(FAMILIES)
    assert set(seeds_of(TRAIN, 5)).isdisjoint(seeds_of(TEST, 5))
    for split in SPLITS:
        drawn = make_corpus(3 * len(families_of(split)), seeds_of(split, 1)[0], split)
        assert {s.family for s in drawn} == set(families_of(split))
        assert all(s.split == split for s in drawn)


def test_each_split_holds_good_and_bad_releases():
    for split in SPLITS:
        names = families_of(split)
        assert any(FAMILIES[n].good for n in names) and any(not FAMILIES[n].good for n in names)
    assert set(GOOD_FAMILIES) == {n for n, f in FAMILIES.items() if f.good}


def test_the_json_reports_each_split_per_seed_and_per_family(tiny_run):
    records, _, paths = tiny_run
    document = json.loads(paths["json"].read_text())
    assert set(document["splits"]) == set(SPLITS)
    for split, s in document["splits"].items():
        assert s["scenarios"] == PER_SEED
        assert set(s["policies"]) == set(POLICIES)
        assert all(set(FIELDS) <= set(m) for m in s["policies"].values())
        assert list(s["per_seed"]) == [str(seeds_of(split, 1)[0])]
        assert set(s["families"]) == {r["family"] for r in records if r["split"] == split}
    assert document["splits"][TEST]["targets"], "the targets are checked on the test split"


def test_the_markdown_and_the_chart_are_written(tiny_run):
    _, _, paths = tiny_run
    table = paths["md"].read_text()
    assert "## train split" in table and "## test split" in table
    assert all(f"| {p} |" in table for p in POLICIES)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rates_are_fractions_and_counts_add_up(tiny_run):
    records, summary, _ = tiny_run
    for split, s in summary["splits"].items():
        bad = sum(r["bad"] for r in records if r["split"] == split)
        for m in s["policies"].values():
            assert m["bad_releases"] == bad
            assert m["bad_releases"] + m["good_releases"] == PER_SEED
            for name in ("detection_rate", "false_rollback_rate"):
                assert m[name] is None or 0 <= m[name] <= 1


def test_the_same_seed_gives_the_same_world_and_results():
    scenario = make_scenario(3, "error_medium", seeds_of(TRAIN, 1)[0])
    assert scenario == make_scenario(3, "error_medium", seeds_of(TRAIN, 1)[0])
    first = runner.simulate(scenario, POLICIES)
    again = runner.simulate(scenario, POLICIES)
    assert first == again
    assert (World(scenario).requests == World(scenario).requests).all()


def test_docs_shaped_codedeploy_blocks_a_fix_released_under_the_old_versions_alarm():
    scenario = make_scenario(0, "fix_while_alarm", seeds_of(TRAIN, 1)[0])
    result = runner.simulate(scenario, ("codedeploy_alarm",))["results"]["codedeploy_alarm"]
    assert result["decision"] == "rollback"


def test_the_sample_sees_no_data_in_the_last_minute_and_calls_a_total_failure_healthy():
    # CloudWatch publishes 1-5 min late, so "Errors > 0 over the last minute" never sees an error
    scenario = make_scenario(1, "error_total", seeds_of(TRAIN, 1)[0])
    result = runner.simulate(scenario, ("sfn_sample",))["results"]["sfn_sample"]
    assert result["decision"] == "promoted"


def test_the_tuned_alarm_sits_above_the_docs_threshold_when_errors_cluster():
    scenario = make_scenario(2, "noisy_high_base", seeds_of(TRAIN, 1)[0])
    assert tuned_threshold(scenario) > alarm_threshold(scenario.rate, scenario.normal_error)


def test_rollgate_runs_the_shipped_gates_and_rolls_back_a_total_failure():
    scenario = dataclasses.replace(make_scenario(1, "error_total", seeds_of(TRAIN, 1)[0]), rate=20.0)
    result = runner.simulate(scenario, ("rollgate",))["results"]["rollgate"]
    assert result["decision"] == "rollback"
    assert result["conclusion"] == "ROLLED_BACK"
    assert result["time_to_detect_s"] is not None
