"""RollgateDeployRole: trusts only the Rollgate account's task roles, changes only managed
(tagged) functions, and reads nothing it could change."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from rollgate_cdk.deploy_role import MUTATING_ACTIONS, RollgateDeployRole


def template(**options: str) -> Template:
    app = cdk.App()
    stack = cdk.Stack(app, "Target", env=cdk.Environment(account="222222222222", region="eu-west-1"))
    RollgateDeployRole(stack, "Deploy", rollgate_account="111111111111", task_role_pattern="RollgateStack-*", **options)
    return Template.from_stack(stack)


def test_the_role_trusts_only_the_rollgate_accounts_task_roles():
    roles = template().find_resources("AWS::IAM::Role")
    (role,) = roles.values()
    assert role["Properties"]["RoleName"] == "rollgate-deploy"
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": {
                "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::111111111111:role/RollgateStack-*"]]
            }
        }
    }
    principal = statement["Principal"]["AWS"]
    assert "111111111111" in str(principal)


def test_changes_are_allowed_only_on_functions_with_the_managed_tag():
    policies = template(managed_function_tag="team:managed").find_resources("AWS::IAM::Policy")
    statements = [s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    changing = [
        s
        for s in statements
        if set(MUTATING_ACTIONS) & set(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert changing, "no statement grants the mutating calls"
    for statement in changing:
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/team:managed": "true"}}
        assert "function:*" in str(statement["Resource"]) and "222222222222" in str(statement["Resource"])
    unconditioned = [s for s in statements if "Condition" not in s]
    for statement in unconditioned:  # what IAM cannot scope by tag: reads only
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "Filter")) for a in actions), actions


def test_a_trust_of_every_role_of_the_account_is_refused():
    app = cdk.App()
    stack = cdk.Stack(app, "Target")
    with pytest.raises(ValueError, match="task_role_pattern"):
        RollgateDeployRole(stack, "Deploy", rollgate_account="111111111111", task_role_pattern="*")


def test_the_template_has_exactly_one_role_and_its_policy():
    t = template()
    t.resource_count_is("AWS::IAM::Role", 1)
    t.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": Match.object_like({"Version": "2012-10-17"})})
