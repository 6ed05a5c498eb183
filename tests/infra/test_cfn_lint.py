"""cfn-lint on the synthesized template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfnlint.api import lint_file

from rollgate_cdk.stack import STACK_NAME

#: W3005 "dependency already enforced by a GetAtt": CDK adds DependsOn on a role it also GetAtts.
KNOWN_CDK_WARNINGS = {"W3005"}


def test_cfn_lint_reports_no_errors(synthesized: Any) -> None:
    template = Path(synthesized.assembly.get_stack_by_name(STACK_NAME).template_full_path)
    matches = lint_file(template)
    errors = [str(match) for match in matches if match.rule.id.startswith("E")]
    assert errors == []
    warnings = [
        str(match) for match in matches if match.rule.id.startswith("W") and match.rule.id not in KNOWN_CDK_WARNINGS
    ]
    assert warnings == []
