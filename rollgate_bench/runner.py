"""Run every policy on every scenario of the chosen splits and seeds (in parallel, seeded, reproducible)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict

from rollgate_bench.corpus import SPLITS, Scenario, make_corpus, seeds_of
from rollgate_bench.policies import POLICIES
from rollgate_bench.world import World

BLOCK = 10  # scenarios per task handed to a worker


def simulate(scenario: Scenario, policies: Iterable[str]) -> dict:
    """One scenario, every policy, on the same world (same load, incidents, noise, data delays)."""
    world = World(scenario)
    results = {}
    for stream, name in enumerate(POLICIES):
        if name not in policies:
            continue
        finish = POLICIES[name](world, stream)
        results[name] = asdict(finish)
    return {
        "idx": scenario.idx,
        "split": scenario.split,
        "seed": scenario.seed,
        "family": scenario.family,
        "bad": scenario.bad,
        "visible": scenario.visible_to_a_watch,
        "rate": scenario.rate,
        "kind": scenario.kind,
        "results": results,
    }


def _block(args: tuple[list[Scenario], tuple[str, ...]]) -> list[dict]:
    scenarios, policies = args
    return [simulate(s, policies) for s in scenarios]


def corpus(splits: Iterable[str], seeds: int, per_seed: int, first_seed: int = 0) -> list[Scenario]:
    """`per_seed` scenarios for each of `seeds` seeds of each split, from its `first_seed` on."""
    chosen: list[Scenario] = []
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
        for seed in seeds_of(split, seeds, first_seed):
            chosen.extend(make_corpus(per_seed, seed, split))
    return chosen


def run(
    splits: Iterable[str],
    seeds: int,
    per_seed: int,
    *,
    workers: int | None = None,
    policies: Iterable[str] = tuple(POLICIES),
    progress: Callable[[int, int, float], None] | None = None,
    first_seed: int = 0,
) -> tuple[list[dict], float]:
    """One record per scenario (ordered by split, seed, index) and the wall time in seconds."""
    started = time.perf_counter()
    scenarios = corpus(splits, seeds, per_seed, first_seed)
    chosen = tuple(p for p in POLICIES if p in set(policies))
    blocks = [(scenarios[i : i + BLOCK], chosen) for i in range(0, len(scenarios), BLOCK)]
    workers = workers or min(2, os.cpu_count() or 1)
    records: list[dict] = []

    def collect(outputs: Iterable[list[dict]]) -> None:
        for out in outputs:
            records.extend(out)
            if progress:
                progress(len(records), len(scenarios), time.perf_counter() - started)

    if workers <= 1:
        collect(map(_block, blocks))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            collect(pool.map(_block, blocks))
    order = {split: i for i, split in enumerate(SPLITS)}
    records.sort(key=lambda r: (order[r["split"]], r["seed"], r["idx"]))
    return records, time.perf_counter() - started
