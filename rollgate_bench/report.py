"""Metrics per split, policy, family and seed; the targets on the test split; JSON, markdown, a chart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rollgate_bench.corpus import ERROR_FAMILIES, FAMILIES, SPLITS, TEST, TRAIN

BASELINES = ("codedeploy_alarm", "codedeploy_tuned", "sfn_sample", "flagger_style")
FAIR_BASELINE = "codedeploy_tuned"
PERIOD_S = 60


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def metrics(records: list[dict], policy: str) -> dict:
    """The report's fields (detection, false rollbacks, promotions, TTD, harm) for one policy over some records."""
    bad = [r for r in records if r["bad"]]
    good = [r for r in records if not r["bad"]]
    visible = [r for r in bad if r["visible"]]

    def result(r: dict) -> dict:
        return r["results"][policy]

    def decided(rs: list[dict], decision: str) -> list[dict]:
        return [r for r in rs if result(r)["decision"] == decision]

    detected = decided(bad, "rollback")
    ttd = [result(r)["time_to_detect_s"] for r in detected]
    errors_1rps = [r for r in detected if r["family"] in ERROR_FAMILIES and r["rate"] >= 1]
    ttd_1rps = [result(r)["time_to_detect_s"] / PERIOD_S for r in errors_1rps]
    promoted_bad = decided(bad, "promoted")
    synthetic_only = [r for r in decided(records, "promoted") if result(r).get("synthetic_only")]
    return {
        "bad_releases": len(bad),
        "visible_bad_releases": len(visible),
        "good_releases": len(good),
        "detected": len(detected),
        "false_rollbacks": len(decided(good, "rollback")),
        "detection_rate": _rate(len(detected), len(bad)),
        "detection_rate_visible": _rate(len(decided(visible, "rollback")), len(visible)),
        # rolled back for cause or for lack of evidence, or held: not promoted
        "stopped_rate_visible": _rate(len(visible) - len(decided(visible, "promoted")), len(visible)),
        "false_rollback_rate": _rate(len(decided(good, "rollback")), len(good)),
        "bad_promoted": len(promoted_bad),
        "bad_promoted_rate": _rate(len(promoted_bad), len(bad)),
        "bad_promoted_synthetic_only": sum(r["bad"] for r in synthetic_only),
        "promoted_synthetic_only_unflagged": sum(not result(r).get("flagged") for r in synthetic_only),
        "promoted_unverified": sum(bool(result(r).get("flagged")) for r in decided(records, "promoted")),
        "undecided": len(decided(records, "undecided")),
        "undecided_good": len(decided(good, "undecided")),
        "undecided_bad": len(decided(bad, "undecided")),
        "median_time_to_detect_s": _percentile(ttd, 50),
        "p90_time_to_detect_s": _percentile(ttd, 90),
        "median_ttd_error_ge_1rps_periods": _percentile(ttd_1rps, 50),
        "bad_invocations_served": int(sum(result(r)["bad_invocations"] for r in bad)),
    }


BRIEF = ("bad_releases", "good_releases", "detected", "false_rollbacks", "bad_promoted", "undecided_good")


def _brief(m: dict) -> dict:
    """The per-family-and-seed cells: enough for the table, small enough to keep in the repository."""
    return {k: m[k] for k in BRIEF}


def _reasons(records: list[dict], policy: str, *, bad: bool, decision: str) -> dict[str, int]:
    """Why a policy got these wrong, by the first words of its reason."""
    counts: dict[str, int] = {}
    for r in records:
        result = r["results"][policy]
        if r["bad"] is bad and result["decision"] == decision:
            key = f"{r['family']}: {result['reason'][:90]}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:15])


def targets(split_summary: dict, runtime_s: float | None) -> dict[str, bool]:
    ours = split_summary["policies"].get("rollgate")
    if not ours:
        return {}
    fair = split_summary["policies"].get(FAIR_BASELINE, {}).get("bad_invocations_served")
    ttd = ours["median_ttd_error_ge_1rps_periods"]
    checks = {
        "detection >= 97% of bad releases a 10-minute watch can see": (ours["detection_rate_visible"] or 0) >= 0.97,
        "false rollbacks <= 2% of good releases": (ours["false_rollback_rate"] or 0) <= 0.02,
        "bad releases promoted <= 1%": (ours["bad_promoted_rate"] or 0) <= 0.01,
        "none promoted on synthetic evidence alone without saying so": ours["promoted_synthetic_only_unflagged"] == 0,
        "median TTD of error regressions >= 1 req/s within 3 periods": ttd is not None and ttd <= 3,
        "bad invocations <= 1/3 of the tuned CodeDeploy baseline": fair is not None
        and ours["bad_invocations_served"] * 3 <= fair,
    }
    if runtime_s is not None:
        checks["make bench under 3 minutes (this run's wall time)"] = runtime_s < 180
    return checks


def summarize_split(records: list[dict], policies: list[str]) -> dict:
    seeds = sorted({r["seed"] for r in records})
    families = [f for f in FAMILIES if any(r["family"] == f for r in records)]
    summary: dict = {
        "scenarios": len(records),
        "seeds": seeds,
        "policies": {p: metrics(records, p) for p in policies},
        "per_seed": {str(s): {p: metrics([r for r in records if r["seed"] == s], p) for p in policies} for s in seeds},
        "families": {},
        "family_seeds": {},
    }
    for family in families:
        subset = [r for r in records if r["family"] == family]
        summary["families"][family] = {p: metrics(subset, p) for p in policies}
        summary["family_seeds"][family] = {
            str(s): {p: _brief(metrics([r for r in subset if r["seed"] == s], p)) for p in policies} for s in seeds
        }
    if "rollgate" in policies:
        summary["rollgate_false_rollbacks"] = _reasons(records, "rollgate", bad=False, decision="rollback")
        summary["rollgate_bad_promoted"] = _reasons(records, "rollgate", bad=True, decision="promoted")
    return summary


def summarize(records: list[dict], *, runtime_s: float, per_seed: int, policy_notes: dict) -> dict:
    policies = list(records[0]["results"]) if records else []
    splits = [s for s in SPLITS if any(r["split"] == s for r in records)]
    summary: dict = {
        "runtime_s": round(runtime_s, 1),
        "scenarios": len(records),
        "scenarios_per_seed": per_seed,
        "split_definition": {
            "families": {name: {"split": f.split, "good": f.good, "about": f.about} for name, f in FAMILIES.items()},
            "rule": "train: families and seeds a judge may be tuned on; test: other families on other seeds, "
            "never tuned on. Targets are checked on test.",
        },
        "splits": {},
    }
    for split in splits:
        subset = [r for r in records if r["split"] == split]
        summary["splits"][split] = summarize_split(subset, policies)
        timing = runtime_s if split == TEST else None
        summary["splits"][split]["targets"] = targets(summary["splits"][split], timing)
    summary["notes"] = policy_notes
    return summary


# --------------------------------------------------------------------------- markdown
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _periods(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _policy_table(by_policy: dict) -> list[str]:
    lines = [
        "| policy | detection (visible) | stopped (visible) | detection (all) | false rollbacks | bad promoted "
        "| undecided good/bad "
        "| median TTD | TTD errors ≥1 rps (periods) | bad invocations served | synthetic-only promotions (unflagged) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p, m in by_policy.items():
        lines.append(
            f"| {p} | {_pct(m['detection_rate_visible'])} | {_pct(m['stopped_rate_visible'])} "
            f"| {_pct(m['detection_rate'])} "
            f"| {_pct(m['false_rollback_rate'])} | {m['bad_promoted']} ({_pct(m['bad_promoted_rate'])}) "
            f"| {m['undecided_good']}/{m['undecided_bad']} | {_secs(m['median_time_to_detect_s'])} "
            f"| {_periods(m['median_ttd_error_ge_1rps_periods'])} | {m['bad_invocations_served']:,} "
            f"| {m['bad_promoted_synthetic_only']} bad ({m['promoted_synthetic_only_unflagged']}) |"
        )
    return lines


def _family_cell(family: str, m: dict) -> str:
    if FAMILIES[family].good:
        return f"{m['false_rollbacks']}/{m['good_releases']} fr, {m['undecided_good']} und"
    return f"{m['detected']}/{m['bad_releases']} det, {m['bad_promoted']} prom"


def markdown(summary: dict) -> str:
    lines = [
        f"# Detection benchmark: {summary['scenarios']} synthetic releases, "
        f"{summary['scenarios_per_seed']} per seed and split",
        "",
        "Families and seeds are split: **train** (a judge may be tuned on them) and **test** (other families, "
        "other seeds, never tuned on). Targets are checked on **test**. Good releases: false rollbacks (fr) "
        "and undecided (und: held or rolled back for lack of evidence, not for cause). Bad releases: detection "
        "(det: rolled back for cause), stopped (not promoted: rolled back for cause or for lack of evidence, or held) "
        "and promotions (prom). 'Visible': bad releases a 5-minute canary and a 10-minute "
        "watch can see at all (enough harmed invocations at the expected rate). TTD: from the first canary "
        "traffic; for error regressions at ≥1 req/s in 60-s metric periods. Bad invocations: harmed (failed, "
        "slowed, dead-lettered, lagging) until rollback, or for 60 minutes after canary start.",
    ]
    for split, s in summary["splits"].items():
        policies = list(s["policies"])
        lines += ["", f"## {split} split: {s['scenarios']} releases, seeds {', '.join(map(str, s['seeds']))}", ""]
        lines += _policy_table(s["policies"])
        if s.get("targets"):
            lines += ["", f"### Targets (rollgate, {split})", ""]
            lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in s["targets"].items()]
        lines += ["", f"### Per seed ({split})", ""]
        lines += [
            "| seed | policy | detection (visible) | false rollbacks | bad promoted | median TTD | bad invocations |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for seed, by_policy in s["per_seed"].items():
            for p in policies:
                m = by_policy[p]
                lines.append(
                    f"| {seed} | {p} | {_pct(m['detection_rate_visible'])} | {_pct(m['false_rollback_rate'])} "
                    f"| {m['bad_promoted']} | {_secs(m['median_time_to_detect_s'])} | {m['bad_invocations_served']:,} |"
                )
        lines += ["", f"### Per family ({split}, all seeds)", ""]
        lines += ["| family | good? | n | " + " | ".join(policies) + " |", "|---|---|---:|" + "---|" * len(policies)]
        for family, by_policy in s["families"].items():
            first = next(iter(by_policy.values()))
            n = first["bad_releases"] + first["good_releases"]
            cells = " | ".join(_family_cell(family, by_policy[p]) for p in policies)
            lines.append(f"| {family} | {'good' if FAMILIES[family].good else 'bad'} | {n} | {cells} |")
        if "rollgate" in policies:
            seeds = s["seeds"]
            lines += ["", f"### rollgate per family and seed ({split})", ""]
            lines += ["| family | " + " | ".join(map(str, seeds)) + " |", "|---|" + "---|" * len(seeds)]
            for family, by_seed in s["family_seeds"].items():
                cells = " | ".join(_family_cell(family, by_seed[str(seed)]["rollgate"]) for seed in seeds)
                lines.append(f"| {family} | {cells} |")
            for title, key in (
                ("false rollbacks", "rollgate_false_rollbacks"),
                ("bad promoted", "rollgate_bad_promoted"),
            ):
                if s.get(key):
                    lines += ["", f"rollgate {title} ({split}), most common reasons:", ""]
                    lines += [f"- {count} x {reason}" for reason, count in s[key].items()]
    lines += ["", f"Wall time: {summary['runtime_s']} s.", "", "## Families", ""]
    lines += ["| family | split | good? | what |", "|---|---|---|---|"]
    for name, f in summary["split_definition"]["families"].items():
        lines.append(f"| {name} | {f['split']} | {'good' if f['good'] else 'bad'} | {f['about']} |")
    notes = summary.get("notes") or {}
    if notes:
        lines += ["", "## Notes", ""] + [f"- **{k}**: {v}" for k, v in notes.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- chart
COLOURS = {
    "rollgate": "#1b7837",
    "rollgate_no_logs": "#7fbf7b",
    "codedeploy_alarm": "#d6604d",
    "codedeploy_tuned": "#b2182b",
    "sfn_sample": "#878787",
    "flagger_style": "#4393c3",
}


def chart(records: list[dict], summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    splits = list(summary["splits"])
    fig, axes = plt.subplots(1, len(splits), figsize=(6.5 * len(splits), 5), squeeze=False)
    minutes = np.linspace(0, 30, 361)
    for ax, split in zip(axes[0], splits, strict=True):
        bad = [r for r in records if r["split"] == split and r["bad"] and r["visible"]]
        for p, m in summary["splits"][split]["policies"].items():
            ttd = np.array(
                [r["results"][p]["time_to_detect_s"] / 60 for r in bad if r["results"][p]["decision"] == "rollback"]
            )
            caught = [(ttd <= x).sum() / len(bad) * 100 if len(bad) else 0 for x in minutes]
            ax.plot(
                minutes,
                caught,
                color=COLOURS.get(p),
                lw=2.4 if p == "rollgate" else 1.4,
                label=f"{p}: {_pct(m['detection_rate_visible'])}, {_pct(m['false_rollback_rate'])} fr",
            )
        ax.set_title(f"{split}: visible bad releases rolled back so far")
        ax.set_xlabel("minutes since the first canary traffic")
        ax.set_ylabel("% of visible bad releases")
        ax.set_ylim(0, 100)
        ax.set_xlim(0, 30)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8, title="detected, false rollbacks", title_fontsize=8)
    fig.suptitle(f"{summary['scenarios']} synthetic Lambda releases, every policy on the same worlds", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(records: list[dict], summary: dict, directory: Path, *, with_chart: bool = True) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "latest.json", "md": directory / "latest.md"}
    paths["json"].write_text(json.dumps(summary, indent=1, allow_nan=False) + "\n")
    paths["md"].write_text(markdown(summary))
    if with_chart:
        paths["png"] = directory / "latest.png"
        chart(records, summary, paths["png"])
    return paths


__all__ = ["BASELINES", "TEST", "TRAIN", "markdown", "metrics", "summarize", "write"]
