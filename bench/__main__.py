"""`make bench`: run every policy on the seeded corpus and write bench/results/latest.{json,md,png}.

python -m bench [--scenarios 1200] [--seed 20260301] [--workers 2] [--out bench/results]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import report, runner
from bench.policies import POLICIES, WATCH_S
from bench.world import HORIZON

DEFAULT_SCENARIOS = 1200
DEFAULT_SEED = 20260301


def notes() -> dict[str, str]:
    return {
        "rollgate": f"the judge driven like the canary/watch tasks: 10% for 300 s judged every 60 s, "
        f"extension (and synthetic traffic) while INCONCLUSIVE, then 100% and a {WATCH_S} s watch "
        "against the pre-deploy baseline; HealthPolicy() and DeploymentRequest defaults as shipped",
        "codedeploy_alarm": "Canary10Percent5Minutes; alias-level Errors > T alarm, 2 of 2 one-minute "
        "periods, T just above the function's normal errors; no watch after 100%",
        "sfn_sample": "linear 10%/min; Errors > 0 of the new version over the last minute; no data = healthy",
        "flagger_style": "10% steps to 50% each minute; canary error rate > max(1%, normal + 1 point) "
        "is a failed check, 5 roll back; no datapoint halts",
        "model": "per-minute aggregates, no datapoint without traffic, p95/p99 of the minute's samples, "
        "data published 1-3 min late; traffic from 1 req/min to 100 req/s with a wandering rate; "
        "downstream incidents hit both versions; cold starts after traffic shifts; noisy minutes; "
        f"harm counted until rollback or {HORIZON // 60} min after canary start; smoke payloads used "
        "as synthetic traffic hit the regression like real requests but not the bad input behind "
        "the normal error rate",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=DEFAULT_SCENARIOS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: 2, or 1 on one core)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--policies", default=",".join(POLICIES), help="comma-separated subset")
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args(argv)

    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown:
        parser.error(f"unknown policies {unknown}; choose from {list(POLICIES)}")
    print(f"bench: {args.scenarios} scenarios, seed {args.seed}, policies {', '.join(policies)}", flush=True)
    step = max(1, args.scenarios // 10)
    shown = [0]

    def progress(done: int, total: int, seconds: float) -> None:
        if done - shown[0] >= step or done == total:
            shown[0] = done
            print(f"  {done:>5}/{total} scenarios  {seconds:5.1f} s", flush=True)

    records, seconds = runner.run(args.scenarios, args.seed, workers=args.workers, policies=policies, progress=progress)
    summary = report.summarize(records, seed=args.seed, runtime_s=seconds, policy_notes=notes())
    paths = report.write(records, summary, args.out, with_chart=not args.no_chart)
    print()
    print(paths["md"].read_text())
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
