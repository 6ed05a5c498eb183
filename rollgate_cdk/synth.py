"""Synthesize Rollgate without the CDK CLI and fail on any unacknowledged cdk-nag finding.

    python -m rollgate_cdk.synth [OUTDIR]        # default: cdk.out

Writes OUTDIR/Rollgate.template.json, OUTDIR/Rollgate.assets.json (the asset manifest), the
staged Lambda asset OUTDIR/asset.<hash>/ and cdk-nag's OUTDIR/AwsSolutions--Rollgate-NagReport.csv.
Exit status 1 (findings printed on stderr) when a cdk-nag rule reports an error or warning that no
NagSuppressions entry acknowledges, or when synthesis itself reports an error.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

# Node 20 still runs jsii fine; keep its end-of-life banner out of the synth output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import cx_api

from rollgate_cdk.build import build_app
from rollgate_cdk.stack import STACK_NAME

NAG_PACK = "AwsSolutions-"
DEFAULT_OUTDIR = "cdk.out"


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning"
    path: str  # construct path
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.path}: {self.message}"


def findings(assembly: cx_api.CloudAssembly) -> list[Finding]:
    """Every error, and every cdk-nag warning, that synthesis attached to the Rollgate stack."""
    found = []
    for message in assembly.get_stack_by_name(STACK_NAME).messages:
        level = str(message.level.value if hasattr(message.level, "value") else message.level).lower()
        text = str(message.entry.data)
        if level == "error" or (level == "warning" and text.startswith(NAG_PACK)):
            found.append(Finding(level=level, path=message.id, message=text))
    return found


def synth(outdir: str = DEFAULT_OUTDIR) -> tuple[cx_api.CloudAssembly, list[Finding]]:
    assembly = build_app(outdir=outdir).synth()
    return assembly, findings(assembly)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__, file=sys.stderr)
        return 2
    outdir = args[0] if args else DEFAULT_OUTDIR
    assembly, problems = synth(outdir)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} unacknowledged finding(s); template written to {assembly.directory}", file=sys.stderr)
        return 1
    stack = assembly.get_stack_by_name(STACK_NAME)
    print(f"synthesized {stack.template_full_path} (cdk-nag AwsSolutions: no unacknowledged findings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
