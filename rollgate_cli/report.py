"""`rollgate report DEPLOYMENT_ID`: one deployment as a picture (PNG) and as data (JSON).

Everything comes from the ledger record: the per-period series the canary and watch judges kept
in their evidence (check `series`, rollgate.domain.shared.progress: each version's invocations, errors
and p95 per metric period, and the verdicts), the timeline (first traffic, promotion, rollback)
and the outcome. Per period: the new and the previous version's error rate and p95; the alias
weight on the new version as it moved; each verdict; the moment of promotion or rollback. The
PNG is drawn with matplotlib's Agg canvas (no display, no pyplot state); the JSON beside it (same
name, `.json`) holds exactly what is drawn, and `--output json` prints it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from rollgate.contract import Status
from rollgate.domain.shared.progress import SERIES_CHECK, SERIES_COLUMNS, VERDICT_COLUMNS
from rollgate.domain.shared.records import DeploymentRecord
from rollgate.domain.shared.validation import check_function_name
from rollgate_cli.output import report
from rollgate_cli.session import Connection, UsageError, add_connection_arguments

#: rollgate.domain.deploy.start.deployment_id_for: `<UTC start, %Y%m%dT%H%M%SZ>-<execution name>`
_DEPLOYMENT_ID = re.compile(r"(?P<started>[0-9]{8}T[0-9]{6}Z)-(?P<execution>[A-Za-z0-9_-]{1,80})", re.ASCII)
_COLOURS = {"HEALTHY": "#2e7d32", "UNHEALTHY": "#c62828", "INCONCLUSIVE": "#9e9e9e"}
_NEW, _PREVIOUS = "#1565c0", "#757575"


def add_report_command(commands: Any) -> None:
    """The `report` subcommand on `commands` (the CLI's subparsers)."""
    parser = commands.add_parser(
        "report",
        help="draw one deployment from the ledger: error rate and p95 per version, weights, verdicts (PNG + JSON)",
    )
    parser.add_argument(
        "deployment_id",
        metavar="DEPLOYMENT_ID",
        type=_deployment_id,
        help="as in `rollgate history` / the outcome event (20261202T…-name)",
    )
    parser.add_argument(
        "--function", help="the function (name or ARN); default: read from the deployment's execution input"
    )
    parser.add_argument("--alias", help="the alias (default: the execution's, else live)")
    parser.add_argument(
        "--out",
        metavar="FILE.png",
        help="where to write the picture; the data goes beside it as FILE.json (default: report-DEPLOYMENT_ID.png)",
    )
    add_connection_arguments(parser)


def _deployment_id(text: str) -> str:
    if not _DEPLOYMENT_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!a} is not a deployment id (like 20261202T004000Z-name)")
    return text


# --------------------------------------------------------------------------- finding the record
def _execution_arn(conn: Connection, execution_name: str) -> str:
    machine = conn.outputs().state_machine_arn  # arn:…:states:<region>:<account>:stateMachine:<name>
    return machine.replace(":stateMachine:", ":execution:", 1) + f":{execution_name}"


def _target_of_execution(conn: Connection, execution_name: str) -> tuple[str, str]:
    """Function and alias from the DeployFunction execution's input (a release's children too)."""
    arn = _execution_arn(conn, execution_name)
    try:
        described = conn.client("stepfunctions").describe_execution(executionArn=arn)
    except ClientError as error:
        raise UsageError(
            f"DEPLOYMENT_ID: cannot read its execution {arn} ({type(error).__name__}); give --function (and --alias)"
        ) from None
    request = json.loads(described.get("input") or "{}")
    request = request.get("request", request) if isinstance(request, dict) else {}
    if not isinstance(request, dict) or not isinstance(request.get("function_name"), str):
        raise UsageError(f"DEPLOYMENT_ID: the input of {arn} names no function; give --function (and --alias)")
    return check_function_name(request["function_name"]), str(request.get("alias") or "live")


def load_record(conn: Connection, deployment_id: str, function: str | None, alias: str | None) -> DeploymentRecord:
    from rollgate_cli.views import ledger_for

    match = _DEPLOYMENT_ID.fullmatch(deployment_id)
    if match is None:  # the command line checked it already (_deployment_id); a caller may not have
        raise UsageError(f"DEPLOYMENT_ID: {deployment_id!a} is not a deployment id (like 20261202T004000Z-name)")
    if function is None:
        function, found_alias = _target_of_execution(conn, match["execution"])
        alias = alias or found_alias
    else:
        function = check_function_name(function)
    alias = alias or "live"
    record = ledger_for(conn).get_deployment(function, alias, deployment_id)
    if not isinstance(record, DeploymentRecord):
        raise UsageError(f"DEPLOYMENT_ID: no deployment {deployment_id} of {function}:{alias} in the ledger")
    return record


# --------------------------------------------------------------------------- the data
def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _series(record: DeploymentRecord, gate: str) -> dict[str, Any] | None:
    """The judge's per-period series in the gate's evidence (its data is the judge's own JSON)."""
    return next((e.data for e in reversed(record.evidence.get(gate, [])) if e.check == SERIES_CHECK), None)


def _version_cell(version: str | None, invocations: Any, errors: Any, p95: Any) -> dict[str, Any] | None:
    if version is None:
        return None
    rate = errors / invocations if isinstance(errors, int | float) and invocations else None
    return {"version": version, "invocations": invocations, "errors": errors, "error_rate": rate, "p95_ms": p95}


def _periods(record: DeploymentRecord) -> tuple[list[dict[str, Any]], int | None]:
    """Every judged period, canary then watch; a period both read is the watch's (read later, so
    with more of CloudWatch's late datapoints in)."""
    periods: dict[str, dict[str, Any]] = {}
    period_seconds = None
    for gate in ("canary", "watch"):
        data = _series(record, gate)
        if not data or not data.get("start"):
            continue
        period_seconds = data.get("period_seconds", period_seconds)
        columns = data.get("columns", list(SERIES_COLUMNS))
        start = _at(data["start"])
        assert start is not None
        for row in data.get("periods", []):
            cell = dict(zip(columns, row, strict=False))
            begins = start + timedelta(seconds=cell["offset_seconds"])
            periods[_iso(begins) or ""] = {
                "start": _iso(begins),
                "phase": gate,
                "new": _version_cell(
                    data.get("new_version"), cell["new_invocations"], cell["new_errors"], cell["new_p95_ms"]
                ),
                "previous": _version_cell(
                    data.get("previous_version"),
                    cell["previous_invocations"],
                    cell["previous_errors"],
                    cell["previous_p95_ms"],
                ),
            }
    return [periods[key] for key in sorted(periods)], period_seconds


def _verdicts(record: DeploymentRecord) -> list[dict[str, Any]]:
    """Every verdict (canary, then watch), with its sentence from the timeline."""
    sentences = {(_iso(entry.at), entry.gate): entry.detail for entry in record.timeline}
    verdicts = []
    for gate, timeline_gate in (("canary", "judge"), ("watch", "watch")):
        data = _series(record, gate) or {}
        columns = data.get("verdict_columns", list(VERDICT_COLUMNS))
        for row in data.get("verdicts", []):
            cell = dict(zip(columns, row, strict=False))
            at = _iso(_at(cell["at"]))
            detail = sentences.get((at, timeline_gate), "")
            verdicts.append(
                {
                    "at": at,
                    "phase": gate,
                    "outcome": cell["outcome"],
                    "weight": cell["weight"],
                    "decided_by": cell.get("decided_by"),
                    "summary": detail.partition(": ")[2] or None,
                }
            )
    return sorted(verdicts, key=lambda v: v["at"] or "")


def _moment(record: DeploymentRecord, gate: str) -> str | None:
    return next((_iso(e.at) for e in record.timeline if e.gate == gate), None)


def _weights(record: DeploymentRecord, verdicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The new version's share of the alias as it moved. Each move follows the verdict that asked
    for it at once (ShiftTraffic, Promote and CompleteWatch run right after the judge's `next`), so
    a move is dated by the last verdict at the old weight; the promotion and the rollback by their
    own timeline entries."""
    started, promoted, rolled_back = _moment(record, "canary"), _moment(record, "promote"), _moment(record, "rollback")
    points: list[dict[str, Any]] = []

    def move(at: str | None, weight: int) -> None:
        if at and (not points or points[-1]["weight"] != weight):
            points.append({"at": at, "weight": weight})

    if started and verdicts:
        move(started, verdicts[0]["weight"])
    for before, after in itertools.pairwise(verdicts):
        changes_phase = before["phase"] != after["phase"]
        move(promoted if changes_phase and promoted else before["at"], after["weight"])
    if promoted and not any(v["phase"] == "watch" for v in verdicts):
        move(promoted, 100)
    if record.status is Status.PROMOTED and verdicts:
        move(verdicts[-1]["at"], 100)
    if rolled_back:
        move(rolled_back, 0)
    return points


def report_data(record: DeploymentRecord) -> dict[str, Any]:
    """What the picture shows, as data (the JSON `rollgate report` writes)."""
    periods, period_seconds = _periods(record)
    verdicts = _verdicts(record)
    return {
        "deployment_id": record.deployment_id,
        "function_name": record.function_name,
        "alias": record.alias,
        "status": record.status.value,
        "reason": record.reason,
        "from_version": record.from_version,
        "to_version": record.to_version,
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "decided_by": record.decided_by,
        "time_to_detect_seconds": record.time_to_detect_seconds,
        "time_to_recover_seconds": record.time_to_recover_seconds,
        "period_seconds": period_seconds,
        "periods": periods,
        "verdicts": verdicts,
        "weights": _weights(record, verdicts),
        "canary_started_at": _moment(record, "canary"),
        "promoted_at": _moment(record, "promote") if record.status is Status.PROMOTED else None,
        "rolled_back_at": _moment(record, "rollback"),
    }


# --------------------------------------------------------------------------- the picture
def _times(items: list[dict[str, Any]], key: str) -> list[datetime]:
    return [moment for item in items if (moment := _at(item[key])) is not None]


def render_png(data: dict[str, Any], path: Path) -> None:
    from matplotlib import dates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 8.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    errors_axis, latency_axis, weight_axis = figure.subplots(3, 1, sharex=True, height_ratios=[3, 3, 2])
    headline = (
        f"{data['function_name']}:{data['alias']}  v{data['from_version']} → v{data['to_version']}  {data['status']}"
    )
    reason = data.get("reason") or ""
    if len(reason) > 150:  # the whole reason is in the JSON and the ledger
        reason = reason[:150].rsplit(" ", 1)[0] + " …"
    figure.suptitle(f"{headline}\n{reason}", fontsize=10, x=0.01, ha="left")

    periods = data["periods"]
    half_period = timedelta(seconds=(data.get("period_seconds") or 60) / 2)
    # a period is drawn at its middle: the datapoint covers [start, start + period)
    middles = [moment + half_period for moment in _times(periods, "start")]
    for side, colour in (("new", _NEW), ("previous", _PREVIOUS)):
        cells = [p[side] for p in periods]
        if not any(cells):
            continue
        version = next(c["version"] for c in cells if c)
        rates = [c["error_rate"] * 100 if c and c["error_rate"] is not None else None for c in cells]
        p95 = [c["p95_ms"] if c else None for c in cells]
        label = f"v{version} ({'new' if side == 'new' else 'previous'})"
        errors_axis.plot(
            middles, [r if r is not None else float("nan") for r in rates], "o-", color=colour, label=label
        )
        latency_axis.plot(middles, [v if v is not None else float("nan") for v in p95], "o-", color=colour, label=label)
    errors_axis.set_ylabel("error rate, %")
    latency_axis.set_ylabel("p95, ms")
    errors_axis.set_ylim(bottom=0)
    latency_axis.set_ylim(bottom=0)
    if not periods:
        errors_axis.text(
            0.5, 0.5, "no judged periods (no canary traffic)", transform=errors_axis.transAxes, ha="center"
        )

    for verdict in data["verdicts"]:
        at = float(dates.date2num(_at(verdict["at"])))
        colour = _COLOURS.get(verdict["outcome"], _COLOURS["INCONCLUSIVE"])
        errors_axis.axvline(at, color=colour, alpha=0.35, linewidth=1)
        errors_axis.plot([at], [1.0], "v", color=colour, transform=errors_axis.get_xaxis_transform(), clip_on=False)

    weights = data["weights"]
    if weights:
        moments = _times(weights, "at")
        end = _at(data.get("finished_at")) or moments[-1]
        weight_axis.step(
            [*moments, end], [*(w["weight"] for w in weights), weights[-1]["weight"]], where="post", color=_NEW
        )
    weight_axis.set_ylim(-5, 105)
    weight_axis.set_ylabel(f"v{data['to_version']} share, %")

    for key, colour, text in (
        ("promoted_at", _COLOURS["HEALTHY"], "promoted"),
        ("rolled_back_at", _COLOURS["UNHEALTHY"], "rolled back"),
    ):
        if data.get(key) is None:
            continue
        moment = float(dates.date2num(_at(data[key])))
        for axis in (errors_axis, latency_axis, weight_axis):
            axis.axvline(moment, color=colour, linestyle="--", linewidth=1.5)
        weight_axis.annotate(text, (moment, 50), xytext=(4, 0), textcoords="offset points", color=colour)

    for axis in (errors_axis, latency_axis, weight_axis):
        axis.grid(alpha=0.3)
    if periods:
        errors_axis.legend(loc="upper left", fontsize=8)
    locator = dates.AutoDateLocator()
    weight_axis.xaxis.set_major_locator(locator)
    weight_axis.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
    weight_axis.set_xlabel("UTC (markers on top: verdicts — green healthy, red unhealthy, grey inconclusive)")
    figure.savefig(path, format="png")


def run_report(conn: Connection, args: argparse.Namespace, out: TextIO) -> int:
    record = load_record(conn, args.deployment_id, args.function, args.alias)
    data = report_data(record)
    png = Path(args.out or f"report-{args.deployment_id}.png")
    if png.suffix.lower() != ".png":
        raise UsageError(f"--out: {str(png)!a} is not a .png file")
    sibling = png.with_suffix(".json")
    try:
        render_png(data, png)
        sibling.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--out: cannot write {png} ({error.strerror})") from None
    report(out, {"png": str(png), "json": str(sibling), "report": data})
    verdicts = data["verdicts"]
    print(
        f"{data['function_name']}:{data['alias']} {data['status']}: {len(data['periods'])} period(s), "
        f"{len(verdicts)} verdict(s); wrote {png} and {sibling}",
        file=out,
    )
    return 0
