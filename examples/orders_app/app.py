#!/usr/bin/env python3
"""A team's own CDK app with Rollgate in it: the orders-api function, and Rollgate releasing it.

    pip install "git+https://github.com/<org>/rollgate"   # or: pip install /path/to/rollgate
    cdk deploy --app "python app.py"

The function is declared with what releasing it takes (alias, health policy, strategy, smoke
tests) next to its own definition, so a push's manifest or a console input need only name the
function and its build. No AWS calls at synth time.
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from rollgate_cdk import Rollgate

HERE = Path(__file__).resolve().parent
STACK_NAME = "OrdersApp"
FUNCTION_NAME = "orders-api"
SMOKE_ORDER = {"order_id": "smoke-1", "items": [{"sku": "A-1", "qty": 1}]}


class OrdersApp(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]

        self.rollgate = Rollgate(
            self,
            "Rollgate",
            release_branches=["release/*"],
            notification_email=None,  # e.g. "orders-team@example.com"
            health_policies={"strict": {"error_rate_relative_margin": 0.1, "latency_ratio_limit": 1.15}},
        )

        # Rollgate's judge reads a function's own log group, /aws/lambda/<name>: keep it there
        log_group = logs.LogGroup(
            self,
            "OrdersLogs",
            log_group_name=f"/aws/lambda/{FUNCTION_NAME}",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(self, "OrdersRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        self.orders = lambda_.Function(
            self,
            "Orders",
            function_name=FUNCTION_NAME,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="app.handler",
            # the first build only: later builds reach the function through Rollgate's gates
            code=lambda_.Code.from_asset(str(HERE / "orders")),
            role=role,
            log_group=log_group,
            timeout=cdk.Duration.seconds(10),
        )
        # the alias every invoker calls; Rollgate moves it, version by version
        self.live = lambda_.Alias(self, "Live", alias_name="live", version=self.orders.current_version)

        self.rollgate.manage(
            self.orders,
            alias=self.live.alias_name,
            policy="strict",
            strategy={"type": "canary", "steps": [20], "interval_seconds": 180},
            smoke_tests=[{"name": "place-order", "payload": SMOKE_ORDER, "expect_subset": {"ok": True}}],
        )


def build_app(outdir: str | None = None) -> cdk.App:
    """The app, cdk-nag's AwsSolutions checks attached; cdk.json's context passed when run without
    the CDK CLI (which passes it itself)."""
    context = json.loads((HERE / "cdk.json").read_text()).get("context", {})
    app = cdk.App(outdir=outdir, context=context, analytics_reporting=False)
    OrdersApp(app, STACK_NAME, stack_name=STACK_NAME, description="orders-api, released by Rollgate")
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app


if __name__ == "__main__":
    build_app().synth()
