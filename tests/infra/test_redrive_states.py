"""The DLQ redrive in the synthesized DeployFunction workflow: after Prune, only a request with
redrive.after_fix starts it (RedriveAsked?); its Wait/Check loop polls at the interval the task
answers, and any failure is recorded ($.cleanup_error), never a rollback; the two tasks' IAM is
the move task calls and what SQS requires of their caller, on this account's queues."""

from __future__ import annotations

from typing import Any


def test_only_a_request_asking_for_it_redrives(deploy_definition: dict[str, Any]) -> None:
    asked = deploy_definition["States"]["RedriveAsked?"]
    assert asked["Type"] == "Choice" and asked["Default"] == "Record"
    (rule,) = asked["Choices"]
    assert rule["Next"] == "StartRedrive"
    # IsPresent first: a request without a redrive has "redrive": null
    assert rule["And"] == [
        {"Variable": "$.request.redrive.after_fix", "IsPresent": True},
        {"Variable": "$.request.redrive.after_fix", "BooleanEquals": True},
    ]


def _statements(synthesized: Any, module: str) -> list[dict[str, Any]]:
    roles = {name for name in synthesized.resources("AWS::IAM::Role") if f"DeployTasks{module}" in name}
    assert roles, f"no role of the {module} task"
    policies = [
        resource
        for resource in synthesized.resources("AWS::IAM::Policy").values()
        if any(r.get("Ref") in roles for r in resource["Properties"]["Roles"])
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _sqs_actions(synthesized: Any, module: str) -> set[str]:
    actions: set[str] = set()
    for statement in _statements(synthesized, module):
        listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions |= {a for a in listed if a.startswith("sqs:")}
    return actions


def test_the_redrive_tasks_may_move_messages_and_nothing_else_may(synthesized: Any) -> None:
    start = _sqs_actions(synthesized, "StartRedrive")
    check = _sqs_actions(synthesized, "CheckRedrive")
    # StartMessageMoveTask moves with the caller's rights: receive and delete on the DLQ, send on the source
    assert {
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
    } <= start
    assert "sqs:CancelMessageMoveTask" not in start
    assert {"sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask", "sqs:GetQueueAttributes"} <= check
    assert not {"sqs:StartMessageMoveTask", "sqs:SendMessage", "sqs:DeleteMessage"} & check
    for other in ("Preflight", "JudgeWatch", "Prune"):
        assert not {a for a in _sqs_actions(synthesized, other) if "MessageMove" in a or a == "sqs:SendMessage"}
