"""Least privilege: each task may do its own step only, and only to functions Rollgate manages."""

from __future__ import annotations

from typing import Any

import pytest

MANAGED_TAG_CONDITION = {"StringEquals": {"aws:ResourceTag/rollgate:managed": "true"}}
HOOK_TAG_CONDITION = {"StringEquals": {"aws:ResourceTag/rollgate:hook": "true"}}

#: Lambda actions that need no tag condition: they support no resource-level permissions at all.
UNSCOPED_LAMBDA_ACTIONS = {"lambda:ListEventSourceMappings"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_by_task(synthesized: Any) -> dict[str, list[dict[str, Any]]]:
    """task module -> every statement of every policy attached to that function's role."""
    policies = synthesized.resources("AWS::IAM::Policy").values()
    result: dict[str, list[dict[str, Any]]] = {}
    for fn in synthesized.resources("AWS::Lambda::Function").values():
        module = fn["Properties"]["Handler"].removesuffix(".lambda_handler").rpartition(".")[2]
        role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        result[module] = [
            statement
            for policy in policies
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]
    return result


def actions_of(statements: list[dict[str, Any]], prefix: str = "") -> set[str]:
    return {action for st in statements for action in _as_list(st["Action"]) if action.startswith(prefix)}


@pytest.fixture(scope="module")
def by_task(synthesized: Any) -> dict[str, list[dict[str, Any]]]:
    return statements_by_task(synthesized)


def test_lambda_actions_only_on_tagged_functions(by_task: dict[str, list[dict[str, Any]]]) -> None:
    for module, statements in by_task.items():
        for statement in statements:
            lambda_actions = set(actions_of([statement], "lambda:"))
            if not lambda_actions or lambda_actions <= UNSCOPED_LAMBDA_ACTIONS:
                continue
            (resource,) = _as_list(statement["Resource"])
            if statement.get("Condition") == HOOK_TAG_CONDITION:
                # the team's hook functions: invoke only, and only those tagged as hooks
                assert (module, lambda_actions) == ("run_hook", {"lambda:InvokeFunction"}), statement
                assert resource["Fn::Join"][1][-1] == ":function:*", statement
                continue
            assert statement.get("Condition") == MANAGED_TAG_CONDITION, (module, statement)
            # DeleteFunction (pruning) on version ARNs only: `function:*:*` never matches a whole function
            suffix = ":function:*:*" if lambda_actions == {"lambda:DeleteFunction"} else ":function:*"
            assert resource["Fn::Join"][1][-1] == suffix, (module, statement)


def test_only_prune_deletes_and_only_versions(by_task: dict[str, list[dict[str, Any]]]) -> None:
    deleting = [
        (module, st) for module, sts in by_task.items() for st in sts if "lambda:DeleteFunction" in actions_of([st])
    ]
    assert [module for module, _ in deleting] == ["prune"]
    (_, statement) = deleting[0]
    assert _as_list(statement["Action"]) == ["lambda:DeleteFunction"]
    assert _as_list(statement["Resource"])[0]["Fn::Join"][1][-1] == ":function:*:*"


def test_ecr_reads_are_scoped_to_tagged_repositories(by_task: dict[str, list[dict[str, Any]]]) -> None:
    for module, statements in by_task.items():
        for statement in statements:
            if not actions_of([statement], "ecr:"):
                continue
            assert statement.get("Condition") == MANAGED_TAG_CONDITION, (module, statement)
            (resource,) = _as_list(statement["Resource"])
            assert resource["Fn::Join"][1][-1] == ":repository/*", (module, statement)
            assert actions_of([statement]) <= {"ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("lambda:UpdateFunctionCode", {"update_function", "check_update"}),
        ("lambda:UpdateFunctionConfiguration", {"update_function", "check_update"}),
        ("lambda:PublishVersion", {"publish_version"}),
        ("lambda:UpdateAlias", {"shift_traffic", "promote", "rollback", "revert_function", "remediate", "reconcile"}),
        (
            "lambda:InvokeFunction",
            {"smoke_test", "judge_canary", "rollback", "revert_function", "remediate", "run_hook"},
        ),
        (
            "lambda:GetAlias",
            {
                "preflight",
                "shift_traffic",
                "judge_canary",
                "promote",
                "rollback",
                "revert_function",
                "remediate",
                "assess_remediation",
                "release_concurrency",
                "reconcile",
            },
        ),
        # a later revert (atomic release, Remediate) moves the allocation with the alias
        (
            "lambda:PutProvisionedConcurrencyConfig",
            {"provision_concurrency", "rollback", "revert_function", "remediate"},
        ),
        (
            "lambda:DeleteProvisionedConcurrencyConfig",
            {"release_concurrency", "rollback", "revert_function", "remediate"},
        ),
        ("lambda:DeleteFunction", {"prune"}),
        ("lambda:ListAliases", {"release_concurrency", "prune", "revert_function", "remediate"}),
        # who else invokes the function: only preflight looks
        ("lambda:GetPolicy", {"preflight"}),
        ("lambda:ListFunctionUrlConfigs", {"preflight"}),
        ("ecr:DescribeImages", {"preflight"}),
        ("ecr:BatchGetImage", {"update_function", "check_update"}),
        (
            "events:PutEvents",
            {
                "record",
                "record_release",
                "record_remediation",
                "github_webhook",
                "reconcile",
                # taking over from a dead lease holder announces its outcome, as reconcile does
                "remediate",
                # Deployment Step Changed: every traffic move and verdict
                "shift_traffic",
                "judge_canary",
                "promote",
                "judge_watch",
                # a DLQ redrive stopped because the messages fail again
                "check_redrive",
                # Deployment Approval Requested, Release Approval Requested
                "await_approval",
                "await_wave_approval",
            },
        ),
        (
            "dynamodb:PutItem",
            {
                "validate",
                "record",
                "release_lease",
                "await_approval",
                "control",
                "await_wave_approval",
                "revert_function",
                "record_release",
                "check_queue",
                "remediate",
                "record_remediation",
                "github_webhook",
                "reconcile",
            },
        ),
        (
            "dynamodb:DeleteItem",
            {
                "validate",
                "record",
                "release_lease",
                "await_approval",
                "control",
                "await_wave_approval",
                "revert_function",
                "record_release",
                "check_queue",
                "remediate",
                "record_remediation",
                "github_webhook",
                "reconcile",
            },
        ),
        ("s3:GetObject*", {"preflight", "update_function", "check_update", "load_manifest"}),
        ("states:StartExecution", {"dispatch"}),
        # the console's answer to an approval gate (the tasks wait; only Control answers)
        ("states:SendTaskSuccess", {"control"}),
        ("states:SendTaskFailure", {"control"}),
        # is the lease holder's execution still running? (the baseline it captured: those that reconcile)
        # (and is the release holding or queued in a branch's queue still running?)
        ("states:DescribeExecution", {"reconcile", "assess_remediation", "remediate", "check_queue", "advance_wave"}),
        ("states:GetExecutionHistory", {"reconcile", "remediate"}),
        ("cloudwatch:ListTagsForResource", {"assess_remediation"}),
        # the redrive compares the consumer's error rate with its pre-redrive rate
        # the bake between two waves judges the promoted wave again (its start reads the health baseline)
        (
            "cloudwatch:GetMetricData",
            {"preflight", "judge_canary", "judge_watch", "start_redrive", "check_redrive", "start_bake", "judge_bake"},
        ),
    ],
)
def test_each_write_or_read_belongs_to_its_step(
    by_task: dict[str, list[dict[str, Any]]], action: str, allowed: set[str]
) -> None:
    holders = {module for module, statements in by_task.items() if action in actions_of(statements)}
    assert holders == allowed


def test_only_the_judges_read_logs_and_only_lambdas_log_groups(by_task: dict[str, list[dict[str, Any]]]) -> None:
    reading = [
        (module, statement)
        for module, statements in by_task.items()
        for statement in statements
        if "logs:FilterLogEvents" in actions_of([statement])
    ]
    assert sorted(module for module, _ in reading) == ["judge_bake", "judge_canary", "judge_watch"]
    for module, statement in reading:
        # the one read action, on Lambda's log groups in this account and region, nothing else
        assert _as_list(statement["Action"]) == ["logs:FilterLogEvents"], (module, statement)
        (resource,) = _as_list(statement["Resource"])
        parts = resource["Fn::Join"][1]
        assert parts[0] == "arn:" and parts[-1] == ":log-group:/aws/lambda/*", (module, statement)
        assert {"Ref": "AWS::Region"} in parts and {"Ref": "AWS::AccountId"} in parts, (module, statement)
    # no task reads logs any other way (GetLogEvents, StartQuery, …): the tasks only write their own
    reads = {
        (module, action)
        for module, statements in by_task.items()
        for action in actions_of(statements, "logs:")
        if not action.startswith(("logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"))
    }
    assert reads == {
        ("judge_canary", "logs:FilterLogEvents"),
        ("judge_watch", "logs:FilterLogEvents"),
        ("judge_bake", "logs:FilterLogEvents"),
    }


def test_validate_and_record_touch_no_lambda(by_task: dict[str, list[dict[str, Any]]]) -> None:
    assert actions_of(by_task["validate"], "lambda:") == set()
    assert actions_of(by_task["record"], "lambda:") == set()


def test_no_task_holds_a_service_wildcard(by_task: dict[str, list[dict[str, Any]]]) -> None:
    for module, statements in by_task.items():
        for action in actions_of(statements):
            assert not action.endswith(":*") and action != "*", (module, action)


def test_unscoped_resources_carry_only_actions_that_cannot_be_scoped(
    by_task: dict[str, list[dict[str, Any]]],
) -> None:
    cannot_be_scoped = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:GetMetricData",
        "cloudwatch:DescribeAlarms",
        "lambda:ListEventSourceMappings",
    }
    for module, statements in by_task.items():
        star = [st for st in statements if "*" in _as_list(st["Resource"])]
        assert actions_of(star) <= cannot_be_scoped, module


def test_deploy_state_machine_invokes_only_its_own_tasks(synthesized: Any, deploy_state_machine: Any) -> None:
    role_id = deploy_state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    # its own tasks, and the Reconciler's function (its own Reconcile step after Record or Rollback failed);
    # not the console's Control function, which no state runs
    functions = {
        lid
        for lid in synthesized.resources("AWS::Lambda::Function")
        if lid.startswith(("DeployTasks", "Reconciler")) and not lid.startswith("DeployTasksControl")
    }
    invoked: set[str] = set()
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "lambda:InvokeFunction" not in _as_list(statement["Action"]):
                continue
            for resource in _as_list(statement["Resource"]):
                getatt = resource.get("Fn::GetAtt") or resource["Fn::Join"][1][0]["Fn::GetAtt"]
                invoked.add(getatt[0])
    assert invoked == functions
