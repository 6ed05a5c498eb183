"""``build_app``: the one place the Rollgate CDK app is assembled (app.py and rollgate_cdk.synth use it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Aspects
from cdk_nag import AwsSolutionsChecks

from rollgate_cdk.settings import Settings
from rollgate_cdk.stack import STACK_NAME, RollgateStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The ``context`` of cdk.json. The CDK CLI passes it itself; ``cdk.App()`` outside the CLI
    does not read cdk.json, so we pass it as defaults (the CLI's context still wins)."""
    context = json.loads(CDK_JSON.read_text()).get("context", {})
    return dict(context)


def build_app(outdir: str | None = None) -> cdk.App:
    """The app with the Rollgate stack, cdk-nag AwsSolutions checks attached. No AWS calls:
    the stack is environment-agnostic (account and region resolve at deploy time)."""
    app = cdk.App(outdir=outdir, context=cdk_json_context(), analytics_reporting=False)
    settings = Settings.from_context(app.node)
    RollgateStack(
        app,
        STACK_NAME,
        stack_name=STACK_NAME,
        settings=settings,
        description="Rollgate: guarded, hands-off releases of AWS Lambda functions",
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app


def rollgate_stack(app: cdk.App) -> RollgateStack:
    stack = app.node.find_child(STACK_NAME)
    assert isinstance(stack, RollgateStack)
    return stack
