"""cdk-nag AwsSolutions: nothing unacknowledged, and every acknowledgement says why."""

from __future__ import annotations

import csv
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks

from rollgate_cdk.synth import findings

NAG = Match.string_like_regexp("^AwsSolutions-")


def test_no_unacknowledged_nag_errors_or_warnings(synthesized: Any) -> None:
    annotations = Annotations.from_stack(synthesized.stack)
    assert annotations.find_error("*", NAG) == []
    assert annotations.find_warning("*", NAG) == []
    assert findings(synthesized.assembly) == []


def test_nag_ran_and_every_acknowledgement_has_a_reason(synthesized: Any) -> None:
    (report,) = synthesized.outdir.glob("AwsSolutions-*Rollgate-NagReport.csv")
    rows = list(csv.DictReader(report.open()))
    statuses = {row["Compliance"] for row in rows}
    assert "Compliant" in statuses  # the checks ran
    assert "Non-Compliant" not in statuses
    suppressed = [row for row in rows if row["Compliance"] == "Suppressed"]
    assert suppressed
    for row in suppressed:
        assert len(row["Exception Reason"]) >= 60, row


def test_suppressions_sit_on_single_resources_not_the_stack(synthesized: Any) -> None:
    assert "cdk_nag" not in synthesized.json.get("Metadata", {})


def test_findings_reports_what_nag_flags(tmp_path: Any) -> None:
    """The synth gate is not vacuous: an unacknowledged finding is reported."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Rollgate")
    sqs.Queue(stack, "Unencrypted")
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    problems = findings(app.synth())
    assert {problem.message.split(":")[0] for problem in problems} >= {"AwsSolutions-SQS4"}
    assert all(problem.path.startswith("/Rollgate/Unencrypted") for problem in problems)
