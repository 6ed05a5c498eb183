"""Run every policy on every scenario of the corpus (in parallel, seeded, reproducible)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict

from bench.corpus import Scenario, make_corpus
from bench.policies import POLICIES
from bench.world import World

BLOCK = 25  # scenarios per task handed to a worker


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
        "family": scenario.family,
        "bad": scenario.bad,
        "rate": scenario.rate,
        "kind": scenario.kind,
        "results": results,
    }


def _block(args: tuple[list[Scenario], tuple[str, ...]]) -> list[dict]:
    scenarios, policies = args
    return [simulate(s, policies) for s in scenarios]


def run(
    scenarios: int,
    seed: int,
    *,
    workers: int | None = None,
    policies: Iterable[str] = tuple(POLICIES),
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[list[dict], float]:
    """Returns one record per scenario (in corpus order) and the wall time in seconds."""
    started = time.perf_counter()
    corpus = make_corpus(scenarios, seed)
    chosen = tuple(p for p in POLICIES if p in set(policies))
    blocks = [(corpus[i : i + BLOCK], chosen) for i in range(0, len(corpus), BLOCK)]
    workers = workers or min(2, os.cpu_count() or 1)
    records: list[dict] = []
    if workers <= 1:
        outputs: Iterable[list[dict]] = map(_block, blocks)
        for out in outputs:
            records.extend(out)
            if progress:
                progress(len(records), len(corpus), time.perf_counter() - started)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for out in pool.map(_block, blocks):
                records.extend(out)
                if progress:
                    progress(len(records), len(corpus), time.perf_counter() - started)
    records.sort(key=lambda r: r["idx"])
    return records, time.perf_counter() - started
