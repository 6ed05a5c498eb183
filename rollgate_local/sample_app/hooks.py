"""A team's release hook for orders-api: the deep check Rollgate's pre- and post-traffic hooks run.

Rollgate invokes a hook (a Lambda the team owns, tagged rollgate:hook=true) with the deployment's
context ({phase, function_name, new_version, previous_version, ...}) and reads its answer
{"status": "pass" | "fail", "reason": ...}. This one prices an order *with a coupon* on the new
version directly (by its version number): the check orders-api's smoke test does not make, so a
build that breaks coupons (v3) fails it before any user traffic. A hook created with
``verdict="fail"`` always fails with `reason`, as a check of something outside the function would
(a reconciliation, a downstream queue) when that has gone wrong.

Public API:

    create_hook(runtime_session, function_name, *, verdict="check", reason=...) -> str   its ARN
    HOOK_SOURCE: str   the handler's code (app.py)
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Literal, Protocol

HOOK_SOURCE = '''"""orders-api release hook: price an order with a coupon on the new version."""

import json
import os

import boto3

ORDER = {"order_id": "hook-0001", "items": [{"sku": "sku-bread", "qty": 1}], "coupon": "SAVE10"}


def handler(event, context):
    if os.environ.get("HOOK_VERDICT") == "fail":
        return {"status": "fail", "reason": os.environ.get("HOOK_REASON", "the check failed")}
    version = event["new_version"]
    answer = boto3.client("lambda").invoke(
        FunctionName=event["function_name"], Qualifier=version, Payload=json.dumps(ORDER).encode()
    )
    body = json.loads(answer["Payload"].read() or b"null")
    if answer.get("FunctionError") or not (isinstance(body, dict) and body.get("ok")):
        shown = body.get("errorType") if isinstance(body, dict) and body.get("errorType") else json.dumps(body)
        return {"status": "fail", "reason": f"v{version} could not price an order with a coupon ({shown})"}
    return {"status": "pass", "reason": f"v{version} priced an order with a coupon: total {body['total']}"}
'''

_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


class _Session(Protocol):
    def client(self, service: str) -> Any: ...


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("app.py", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, source)
    return buffer.getvalue()


def create_hook(
    runtime_session: _Session,
    function_name: str,
    *,
    verdict: Literal["check", "fail"] = "check",
    reason: str = "the check failed",
) -> str:
    """The hook function (tagged rollgate:hook=true); verdict "check" prices a coupon order on the
    new version, "fail" always fails with `reason`."""
    iam = runtime_session.client("iam")
    role_name = f"{function_name}-role"
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_TRUST)["Role"]["Arn"]
    created = runtime_session.client("lambda").create_function(
        FunctionName=function_name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": _zip(HOOK_SOURCE)},
        Timeout=30,
        Environment={"Variables": {"HOOK_VERDICT": verdict, "HOOK_REASON": reason}},
        Tags={"rollgate:hook": "true"},
    )
    return str(created["FunctionArn"])
