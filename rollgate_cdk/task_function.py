"""TaskFunction: the house defaults every Rollgate task Lambda shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

import rollgate
from rollgate_cdk.settings import Settings

#: The Lambda package, wherever it is imported from: functions/rollgate in a checkout,
#: site-packages/rollgate once installed with pip (`pip install git+…` or a path), so a CDK app
#: that installed Rollgate synthesizes without a checkout.
PACKAGE_DIR = Path(rollgate.__file__).resolve().parent
#: The Lambda asset root: the folder holding the package, of which only the package is bundled
#: (site-packages holds every other installed distribution too), ``rollgate`` at the asset's top.
FUNCTIONS_DIR = PACKAGE_DIR.parent
ASSET_EXCLUDE = ["*", f"!{PACKAGE_DIR.name}", f"!{PACKAGE_DIR.name}/**", "**/__pycache__", "**/*.pyc"]

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

# The account AWS publishes the public "Powertools for AWS Lambda (Python) V3" layers from, in the
# commercial partition (the same in every region there).
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
# Does the layer bundle pydantic v2? Yes. It is built with `pip install "aws-lambda-powertools[all]"`
# (aws-powertools/powertools-lambda-layer-cdk, layer/Pythonv3/Dockerfile) minus boto3/botocore,
# which the runtime ships; [all] brings pydantic v2 (>=2.4,<3), aws-xray-sdk (Tracer) and
# fastjsonschema, plus pydantic-settings in recent 3.x (3.37.0's metadata lists it). So the
# asset carries only our `rollgate` package. Two caveats: the pydantic patch version inside a layer
# version is whatever was current when that layer was built, not the pin in
# requirements/lambda.txt; and which Powertools release a layer version holds must be checked
# (`aws lambda get-layer-version-by-arn`) when bumping `rollgate:powertoolsLayerVersion`.
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python312-arm64"

SERVICE_NAME = "rollgate"
METRICS_NAMESPACE = "Rollgate"


def task_code() -> lambda_.AssetCode:
    """The one asset every task runs from. Share the returned object so it is staged once."""
    return lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=ASSET_EXCLUDE)


def powertools_layer_arn(scope: Construct, *, version: int) -> str:
    region = Stack.of(scope).region
    return f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:{version}"


class TaskFunction(Construct):
    """A Lambda function with the house defaults.

    python3.12 on arm64, Powertools layer, JSON logs into its own log group with retention,
    X-Ray tracing, Powertools environment, and its own role that starts with nothing but
    permission to write its logs (no managed policies). Grant what the task needs on ``.function``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        settings: Settings,
        code: lambda_.Code | None = None,
        description: str | None = None,
        environment: Mapping[str, str] | None = None,
        memory_size: int = 512,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(self, "Logs", retention=settings.log_retention)

        # Our own role instead of the default one with the AWSLambdaBasicExecutionRole managed
        # policy: the function may write to its own log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Rollgate task {handler}",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=code or task_code(),
            handler=handler,
            description=description or f"Rollgate task {handler}",
            memory_size=memory_size,
            timeout=timeout or Duration.seconds(60),
            role=self.role,
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self,
                    "Powertools",
                    powertools_layer_arn(self, version=settings.powertools_layer_version),
                )
            ],
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": settings.log_level,
                **(environment or {}),
            },
        )

        NagSuppressions.add_resource_suppressions(
            self.function,
            [
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason=(
                        "Pinned to python3.12 on purpose: the Powertools V3 layer we attach is built "
                        "per Python version and requirements/lambda.txt pins the same runtime for "
                        "tests; moving runtime is a deliberate upgrade, not a drift."
                    ),
                )
            ],
        )
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=["Resource::*"],
                    reason=(
                        "Only xray:PutTraceSegments/PutTelemetryRecords, added by active tracing, sit "
                        "on Resource * in this role's default policy: X-Ray supports no "
                        "resource-level permissions for them."
                    ),
                )
            ],
            apply_to_children=True,
        )
        self._managed_functions_acknowledged = False

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        self.function.add_to_role_policy(statement)

    def allow_managed_functions(self, *, actions: Sequence[str], managed_function_tag: str) -> None:
        """Lambda actions on functions of this account and region that carry the managed tag."""
        stack = Stack.of(self)
        self.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(actions),
                # `function:*` also matches qualified ARNs (function:name:version / :alias).
                resources=[f"arn:{stack.partition}:lambda:{stack.region}:{stack.account}:function:*"],
                conditions={"StringEquals": {f"aws:ResourceTag/{managed_function_tag}": "true"}},
            )
        )
        if self._managed_functions_acknowledged:
            return
        self._managed_functions_acknowledged = True
        NagSuppressions.add_resource_suppressions(
            self.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=["Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*"],
                    reason=(
                        "Rollgate deploys functions it does not own, named in each request; the "
                        "wildcard is narrowed by the condition "
                        f"aws:ResourceTag/{managed_function_tag} = true, so only functions tagged as "
                        "managed by Rollgate are reachable."
                    ),
                )
            ],
            apply_to_children=True,
        )

    def allow_unscoped(self, policy_id: str, *, actions: Sequence[str], why: str) -> iam.Policy:
        """Actions that support no resource-level permissions (their Resource must be "*").

        They go into a policy of their own so that the acknowledgement sits on exactly them.
        """
        policy = iam.Policy(
            self,
            policy_id,
            statements=[iam.PolicyStatement(actions=list(actions), resources=["*"])],
            roles=[self.role],
        )
        NagSuppressions.add_resource_suppressions(
            policy,
            [NagPackSuppression(id="AwsSolutions-IAM5", applies_to=["Resource::*"], reason=why)],
        )
        return policy
