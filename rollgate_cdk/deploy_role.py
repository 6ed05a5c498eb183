"""`RollgateDeployRole`: the role Rollgate's tasks assume in an account it releases into.

Deploy one in each target account (in its own stack, e.g. the team's per-account stack):

    RollgateDeployRole(scope, "RollgateDeploy", rollgate_account="111111111111",
                       task_role_pattern="RollgateStack-*")

It trusts only the Rollgate account's task roles: the account is the principal, and the
`aws:PrincipalArn` condition narrows it to the roles whose names Rollgate's task functions carry
(`task_role_pattern`), so no other identity of that account can assume it. Its policy is what the
DeployFunction and Release tasks do to a function, and no more: the calls that change a function or
its traffic (code, configuration, versions, the alias, provisioned concurrency, old versions) only
on functions tagged `<managed tag>=true`, where IAM offers the tag condition; reads that IAM cannot
scope by tag (List*, metrics, logs, queue depths) are read-only. The role's name is fixed
(`role_name`, default "rollgate-deploy") because Rollgate names it in the ARN it assumes.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from rollgate import contract

DEFAULT_ROLE_NAME = "rollgate-deploy"

#: Changes to a function and its traffic: only on managed (tagged) functions.
MUTATING_ACTIONS = (
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "lambda:DeleteFunction",
)
#: Reads of one function, and invoking its versions (smoke tests, hooks): managed functions only too.
FUNCTION_READS = (
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:GetAlias",
    "lambda:GetPolicy",
    "lambda:GetFunctionUrlConfig",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:InvokeFunction",
    "lambda:ListVersionsByFunction",
    "lambda:ListAliases",
    "lambda:ListTags",
    "lambda:ListProvisionedConcurrencyConfigs",
    "lambda:ListFunctionUrlConfigs",
)
#: Reads IAM cannot scope to a resource or tag: read-only, nothing they return changes anything.
UNSCOPED_READS = (
    "lambda:ListEventSourceMappings",
    "lambda:GetEventSourceMapping",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "logs:FilterLogEvents",
    "logs:GetLogEvents",
    "logs:DescribeLogStreams",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListQueueTags",
)


class RollgateDeployRole(Construct):
    """The deploy role of one target account. Attributes: `role`, `role_arn`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rollgate_account: str,
        task_role_pattern: str,
        role_name: str = DEFAULT_ROLE_NAME,
        managed_function_tag: str = str(contract.MANAGED_FUNCTION_TAG.default),
    ) -> None:
        """`rollgate_account`: the account the Rollgate stack runs in (its task roles assume this role).
        `role_name` (default "rollgate-deploy"): the name Rollgate's `deploy_role_name` option names.
        `task_role_pattern`: which of that account's roles may assume it, by name: CDK names the task
        roles after the Rollgate stack ("RollgateStack-*"); the account alone is never enough, and
        "*" is refused.
        `managed_function_tag` (default Rollgate's): the tag whose value "true" marks a managed function."""
        super().__init__(scope, construct_id)
        if task_role_pattern.strip("*") == "":
            raise ValueError("task_role_pattern must name Rollgate's task roles, not every role of the account")
        partition = Stack.of(self).partition
        task_roles = f"arn:{partition}:iam::{rollgate_account}:role/{task_role_pattern}"
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            description="Rollgate's tasks release managed Lambda functions of this account through this role",
            assumed_by=iam.AccountPrincipal(rollgate_account).with_conditions(
                {"ArnLike": {"aws:PrincipalArn": task_roles}}
            ),
        )
        functions = f"arn:{partition}:lambda:*:{Stack.of(self).account}:function:*"
        managed = {"StringEquals": {f"aws:ResourceTag/{managed_function_tag}": "true"}}
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ChangeManagedFunctions",
                actions=list(MUTATING_ACTIONS),
                resources=[functions],
                conditions=managed,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadManagedFunctions", actions=list(FUNCTION_READS), resources=[functions], conditions=managed
            )
        )
        self.role.add_to_policy(iam.PolicyStatement(sid="ReadHealth", actions=list(UNSCOPED_READS), resources=["*"]))
        self.role_arn = self.role.role_arn
