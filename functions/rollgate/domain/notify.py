"""One readable line per outcome, for people: what happened, which version to which, why, and where
the evidence is. It rides in every outcome event as `detail.message`; the notifications rule sends
exactly that text to the SNS topic (email, chat)."""

from __future__ import annotations

from typing import Any

MAX_MESSAGE = 1000


def _evidence(function_name: str | None, execution_arn: str | None) -> str:
    where = [f"`rollgate history --function {function_name}`"] if function_name else []
    if execution_arn:
        where.append(f"execution {execution_arn}")
    return "Evidence: " + (" and ".join(where) or "the Rollgate ledger") + "."


def _versions(document: dict[str, Any]) -> str:
    before, after = document.get("from_version"), document.get("to_version")
    if before and after:
        return f" v{before} -> v{after}"
    return f" v{after}" if after else ""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def deployment_message(document: dict[str, Any]) -> str:
    """`Deployment orders-api:live ROLLED_BACK v1 -> v2: <reason>. Evidence: …`"""
    target = f"{document.get('function_name')}:{document.get('alias')}"
    return _clip(
        f"Deployment {target} {document.get('status')}{_versions(document)}: {document.get('reason')}. "
        + _evidence(document.get("function_name"), document.get("execution_arn"))
    )


def remediation_message(document: dict[str, Any]) -> str:
    target = f"{document.get('function_name')}:{document.get('alias')}"
    moved = ""
    if document.get("from_version") and document.get("to_version"):
        moved = f" v{document['from_version']} -> v{document['to_version']}"
    return _clip(
        f"Remediation of {target} {document.get('status')}{moved} ({document.get('trigger')}): "
        f"{document.get('reason')}. " + _evidence(document.get("function_name"), document.get("execution_arn"))
    )


def release_message(document: dict[str, Any]) -> str:
    functions = document.get("functions") or []
    listed = ", ".join(
        f"{f.get('function_name')} {f.get('status')}"
        + (f" v{f.get('from_version')}->v{f.get('to_version')}" if f.get("to_version") else "")
        for f in functions[:10]
    )
    more = f" (+{len(functions) - 10} more)" if len(functions) > 10 else ""
    return _clip(
        f"Release {document.get('release_id')} {document.get('status')}: {document.get('reason')}. "
        f"Functions: {listed or 'none'}{more}. " + _evidence(None, document.get("execution_arn"))
    )
