"""How the judge words numbers for the person on call: counts, rates, points, p-values, durations."""

from __future__ import annotations

import math


def count(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def pct(rate: float) -> str:
    percent = rate * 100
    if percent == 0:
        return "0%"
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.2f}%"


def points(difference: float, sign: bool = True) -> str:
    value = difference * 100
    text = f"{value:+.1f}" if sign else f"{value:.3g}"
    return f"{text} point{'s' if abs(value) != 1 else ''}"


def limit(rate: float) -> str:
    return f"{rate * 100:g}%"


def p_value(p: float) -> str:
    if p < 1e-12:
        return "p<1e-12"
    if p < 0.001:
        mantissa, exponent = f"{p:.0e}".split("e")
        return f"p={mantissa}e{int(exponent)}"
    return f"p={p:.2g}"


def below(p: float, alpha: float) -> str:
    return p_value(p) if p < 1e-12 else f"{p_value(p)} < {alpha:g}"


def p_round(p: float) -> float:
    return float(f"{p:.3g}")


def rate(per_second: float) -> str:
    if per_second >= 1:
        return f"{per_second:.1f} req/s"
    return f"{per_second * 60:.1f} req/min"


def minutes(value: float) -> str:
    if value < 1:
        return "under a minute"
    if value < 90:
        return f"about {math.ceil(value)} min"
    return f"about {value / 60:.1f} h"


def seconds(ms: float) -> str:
    return f"{ms / 1000:.0f} s" if ms >= 10_000 else f"{ms / 1000:.1f} s"


def plural(n: float, word: str) -> str:
    return f"{count(n)} {word}{'' if n == 1 else 's'}"
