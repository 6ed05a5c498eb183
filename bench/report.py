"""Metrics per policy and per family, and the three outputs: JSON, a markdown table, a chart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.corpus import ERROR_FAMILIES, FAMILIES, GOOD_FAMILIES

BASELINES = ("codedeploy_alarm", "sfn_sample", "flagger_style")
LABELS = {
    "rollgate": "rollgate",
    "codedeploy_alarm": "codedeploy_alarm",
    "sfn_sample": "sfn_sample",
    "flagger_style": "flagger_style",
}


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def metrics(records: list[dict], policy: str) -> dict:
    """The issue's fields, and a few more."""
    bad = [r for r in records if r["bad"]]
    good = [r for r in records if not r["bad"]]

    def decision(r: dict) -> str:
        return r["results"][policy]["decision"]

    detected = [r for r in bad if decision(r) == "rollback"]
    ttd = [r["results"][policy]["time_to_detect_s"] for r in detected]
    return {
        "detection_rate": _rate(len(detected), len(bad)),
        "false_rollback_rate": _rate(sum(decision(r) == "rollback" for r in good), len(good)),
        "median_time_to_detect_s": _percentile(ttd, 50),
        "p90_time_to_detect_s": _percentile(ttd, 90),
        "bad_invocations_served": int(sum(r["results"][policy]["bad_invocations"] for r in bad)),
        "undecided": sum(decision(r) == "undecided" for r in records),
        "bad_releases": len(bad),
        "good_releases": len(good),
        "bad_promoted": sum(decision(r) == "promoted" for r in bad),
        "bad_promoted_without_data": sum(
            decision(r) == "promoted" and r["results"][policy]["evidence_invocations"] == 0 for r in bad
        ),
        "undecided_good": sum(decision(r) == "undecided" for r in good),
        "undecided_bad": sum(decision(r) == "undecided" for r in bad),
    }


def summarize(records: list[dict], *, seed: int, runtime_s: float, policy_notes: dict) -> dict:
    policies = list(records[0]["results"]) if records else []
    summary: dict = {
        "scenarios": len(records),
        "seed": seed,
        "runtime_s": round(runtime_s, 1),
        "policies": {p: metrics(records, p) for p in policies},
        "families": {},
    }
    for family in FAMILIES:
        subset = [r for r in records if r["family"] == family]
        if subset:
            summary["families"][family] = {p: metrics(subset, p) for p in policies}
    error_1rps = [r for r in records if r["family"] in ERROR_FAMILIES and r["rate"] >= 1]
    for p in policies:
        ttd = [r["results"][p]["time_to_detect_s"] for r in error_1rps if r["results"][p]["decision"] == "rollback"]
        summary["policies"][p]["median_time_to_detect_error_regressions_ge_1rps_s"] = _percentile(ttd, 50)
    if "rollgate" in policies:
        rollgate = summary["policies"]["rollgate"]
        reasons: dict[str, int] = {}
        for r in records:
            result = r["results"]["rollgate"]
            if not r["bad"] and result["decision"] == "rollback":
                reasons[result["reason"]] = reasons.get(result["reason"], 0) + 1
        rollgate["false_rollback_reasons"] = reasons
        codedeploy = summary["policies"].get("codedeploy_alarm", {}).get("bad_invocations_served")
        ttd_1rps = rollgate["median_time_to_detect_error_regressions_ge_1rps_s"]
        summary["targets"] = {
            "detection_rate_ge_99pct": (rollgate["detection_rate"] or 0) >= 0.99,
            "false_rollback_rate_le_1pct": (rollgate["false_rollback_rate"] or 0) <= 0.01,
            "no_bad_release_promoted_without_data": rollgate["bad_promoted_without_data"] == 0,
            "median_ttd_error_regressions_ge_1rps_within_2_periods": ttd_1rps is not None and ttd_1rps <= 120,
            "bad_invocations_le_third_of_codedeploy_alarm": codedeploy is not None
            and rollgate["bad_invocations_served"] * 3 <= codedeploy,
            "runtime_under_2_minutes": runtime_s < 120,
        }
    summary["notes"] = policy_notes
    return summary


# --------------------------------------------------------------------------- markdown
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _num(value: int) -> str:
    return f"{value:,}"


def markdown(summary: dict) -> str:
    policies = list(summary["policies"])
    lines = [
        f"# Detection benchmark: {summary['scenarios']} synthetic releases (seed {summary['seed']})",
        "",
        "| policy | detection | false rollbacks | median TTD | p90 TTD | median TTD, errors ≥1 rps "
        "| bad invocations served | undecided |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in policies:
        m = summary["policies"][p]
        lines.append(
            f"| {LABELS.get(p, p)} | {_pct(m['detection_rate'])} | {_pct(m['false_rollback_rate'])} "
            f"| {_secs(m['median_time_to_detect_s'])} | {_secs(m['p90_time_to_detect_s'])} "
            f"| {_secs(m['median_time_to_detect_error_regressions_ge_1rps_s'])} "
            f"| {_num(m['bad_invocations_served'])} | {m['undecided']} |"
        )
    bad_count = next(iter(summary["policies"].values()))["bad_releases"] if policies else 0
    good_count = next(iter(summary["policies"].values()))["good_releases"] if policies else 0
    lines += [
        "",
        f"{bad_count} bad and {good_count} good releases. Detection: bad releases rolled back for cause. "
        "False rollbacks: good releases rolled back. TTD: time to detect, from the first canary traffic. "
        "Bad invocations served: invocations the regression harmed (failed, slowed, or dead-lettered) "
        "until rollback, or until 60 minutes after canary start when never rolled back. Undecided: "
        "releases halted or rolled back for lack of evidence (not for cause).",
        "",
        "## Per family",
        "",
        "Bad families: detection (median TTD). Good families: false rollbacks (undecided).",
        "",
        "| family | n | " + " | ".join(LABELS.get(p, p) for p in policies) + " |",
        "|---|---:|" + "---:|" * len(policies),
    ]
    for family, by_policy in summary["families"].items():
        first = next(iter(by_policy.values()))
        n = first["bad_releases"] + first["good_releases"]
        cells = []
        for p in policies:
            m = by_policy[p]
            if family in GOOD_FAMILIES:
                cells.append(f"{_pct(m['false_rollback_rate'])} ({m['undecided']})")
            else:
                cells.append(f"{_pct(m['detection_rate'])} ({_secs(m['median_time_to_detect_s'])})")
        lines.append(f"| {family} | {n} | " + " | ".join(cells) + " |")
    if "targets" in summary:
        rollgate = summary["policies"]["rollgate"]
        lines += ["", "## Targets (rollgate)", ""]
        for name, met in summary["targets"].items():
            lines.append(f"- [{'x' if met else ' '}] {name.replace('_', ' ')}")
        if rollgate.get("false_rollback_reasons"):
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(rollgate["false_rollback_reasons"].items()))
            lines.append(f"- false rollbacks by failed check: {reasons}")
        lines.append(f"- runtime: {summary['runtime_s']} s")
    notes = summary.get("notes") or {}
    if notes:
        lines += ["", "## Notes", ""] + [f"- **{k}**: {v}" for k, v in notes.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- chart
COLOURS = {
    "rollgate": "#1b7837",
    "codedeploy_alarm": "#d6604d",
    "sfn_sample": "#878787",
    "flagger_style": "#4393c3",
}


def chart(records: list[dict], summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    policies = list(summary["policies"])
    bad = [r for r in records if r["bad"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.35, 1]})

    minutes = np.linspace(0, 30, 361)
    for p in policies:
        ttd = np.array(
            [r["results"][p]["time_to_detect_s"] / 60 for r in bad if r["results"][p]["decision"] == "rollback"]
        )
        caught = [(ttd <= m).sum() / len(bad) * 100 if len(bad) else 0 for m in minutes]
        detected = summary["policies"][p]["detection_rate"] or 0
        left.plot(
            minutes,
            caught,
            color=COLOURS.get(p),
            lw=2.4 if p == "rollgate" else 1.6,
            label=f"{LABELS.get(p, p)}: {detected * 100:.1f}%",
        )
    left.set_xlabel("minutes since the first canary traffic")
    left.set_ylabel("% of bad releases rolled back")
    left.set_title("Time to detect: bad releases caught so far")
    left.set_ylim(0, 100)
    left.set_xlim(0, 30)
    left.grid(alpha=0.3)
    left.legend(loc="lower right", fontsize=9, title="detected in the end", title_fontsize=9)

    served = [max(summary["policies"][p]["bad_invocations_served"], 1) for p in policies]
    y = np.arange(len(policies))[::-1]
    right.barh(y, served, color=[COLOURS.get(p, "#999") for p in policies])
    right.set_xscale("log")
    right.set_yticks(y, [LABELS.get(p, p).replace(" (", "\n(") for p in policies], fontsize=9)
    right.set_xlabel("bad invocations served to users (log scale)")
    title = "User impact before rollback"
    ours, theirs = summary["policies"].get("rollgate"), summary["policies"].get("codedeploy_alarm")
    if ours and theirs and ours["bad_invocations_served"]:
        ratio = theirs["bad_invocations_served"] / ours["bad_invocations_served"]
        title += f"\n(rollgate serves {ratio:.0f}x fewer than codedeploy_alarm)"
    right.set_title(title)
    for yi, value in zip(y, served, strict=True):
        right.text(value * 1.1, yi, f"{value:,}", va="center", fontsize=9)
    right.set_xlim(1, max(served) * 8)
    right.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"{summary['scenarios']} synthetic Lambda releases, {len(bad)} bad: every policy on the same corpus",
        fontsize=12,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(records: list[dict], summary: dict, directory: Path, *, with_chart: bool = True) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "latest.json", "md": directory / "latest.md"}
    paths["json"].write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    paths["md"].write_text(markdown(summary))
    if with_chart:
        paths["png"] = directory / "latest.png"
        chart(records, summary, paths["png"])
    return paths
