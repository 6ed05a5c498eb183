"""Metric math in the local runtime: the arithmetic CloudWatch evaluates and moto does not.

CloudWatch's GetMetricData evaluates an `Expression` query over the other queries' series (`m1 / m2
* 100`, a 5xx rate from two API Gateway metrics). moto 5.2.5's parser only answers an expression that
is exactly one query's id and returns nothing for anything else, so a custom metric defined by an
expression would read as "no datapoint" locally. `install` replaces that parser with arithmetic over
ids and numbers (+ - * /, unary minus, parentheses), evaluated per timestamp where every input has a
value, division by zero giving no value, as CloudWatch does. The functions (SUM(METRICS()), FILL,
IF, ...) are not modelled: an expression using one is refused with the name of what is missing.
tests/local/test_metric_math.py checks it and fails naming the symbol when a moto upgrade moves it.
"""

from __future__ import annotations

import ast
import importlib
import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any

from rollgate_local import patch_sources

#: What the patch replaces, and the sha256 of its moto 5.2.5 source: a moto that changed it needs the
#: patch re-read (then update the fingerprint: `python -m rollgate_local.metric_math`).
PARSER = "moto.cloudwatch.models.parse_expression"
FINGERPRINTS = {PARSER: "143759b9e75aae5bb301c3a6b346dc1113da258c0a06bb67108c8bc6b280c1f8"}

_OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class UnsupportedExpression(ValueError):
    """An expression the local runtime cannot evaluate (a metric-math function, a name not queried)."""


def evaluate(expression: str, series: dict[str, dict[datetime, float]]) -> dict[datetime, float]:
    """`expression` per timestamp over `series` (query id -> timestamp -> value)."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as error:
        raise UnsupportedExpression(f"{expression!r} is not arithmetic over query ids: {error.msg}") from None
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    if calls:
        raise UnsupportedExpression(f"{expression!r}: {calls[0]}() is not modelled locally (only + - * / over ids)")
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
    missing = [n for n in names if n not in series]
    if missing:
        raise UnsupportedExpression(f"{expression!r} uses {', '.join(missing)}: no query has that id")
    stamps = set.intersection(*(set(series[n]) for n in names)) if names else set()
    result = {}
    for at in sorted(stamps):
        value = _value(tree, {n: series[n][at] for n in names}, expression)
        if value is not None:
            result[at] = value
    return result


def _value(node: ast.AST, values: dict[str, float], expression: str) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _value(node.operand, values, expression)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left, values, expression), _value(node.right, values, expression)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None  # CloudWatch drops the datapoint rather than answer infinity
        return _OPERATORS[type(node.op)](left, right)
    what = ast.unparse(node) if isinstance(node, ast.expr) else type(node).__name__
    raise UnsupportedExpression(f"{expression!r}: {what!r} is not modelled locally (only + - * / over ids)")


def parse_expression(expression: str, results: list[dict[str, Any]]) -> tuple[list[float], list[datetime]]:
    """moto's parser contract: the other queries' results in, (values, timestamps) out."""
    series = {r["id"]: dict(zip(r["timestamps"], r["values"], strict=False)) for r in results}
    evaluated = evaluate(expression, series)
    return list(evaluated.values()), list(evaluated)


def problems() -> list[str]:
    """What stops the patch from being right for the installed moto; empty when nothing does."""
    return patch_sources.changed(FINGERPRINTS, "rollgate_local.metric_math")


def install(patch: Callable[[Any, str, Any], None]) -> None:
    """Apply the patch through the bridge's `patch(owner, attr, replacement)` (restored on uninstall)."""
    models = importlib.import_module("moto.cloudwatch.models")
    patch(models, "parse_expression", parse_expression)


if __name__ == "__main__":
    print(f'FINGERPRINTS = {{PARSER: "{patch_sources.fingerprint(PARSER)}"}}')
