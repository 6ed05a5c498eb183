"""Observability: the dashboard of Rollgate's releases and of Rollgate itself, and the alarms that
page when Rollgate cannot do its job, on the notifications topic.

    dashboard  deployments by outcome, rollbacks, releases and remediations by outcome, time to
               detect and to recover, deployment duration; executions (started, succeeded, failed,
               timed out) per state machine; every task Lambda's errors; the dead-letter queues
    alarms     a deployment, release or remediation that ended FAILED (a failed rollback among them)
               or timed out, per state machine; a Record task that failed; Reconcile failing; an
               event in a rule's dead-letter queue

The outcome metrics are the Powertools (EMF) metrics the Record tasks (and Reconcile, for an outcome it
writes) emit, namespace `Rollgate`,
dimensions `outcome` and `service` (rollgate.tasks.deploy.record, record_release, record_remediation).
A rolled-back or rejected deployment is Rollgate working, so it is on the dashboard and in the
outcome notifications but raises no alarm; and Step Functions' own ExecutionsFailed is drawn, not
alarmed on, because every deployment that is not promoted ends in a Fail state on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from rollgate_cdk.task_function import METRICS_NAMESPACE, SERVICE_NAME

#: Outcomes the Record tasks emit as the `outcome` dimension (the status enums of
#: rollgate.domain.shared.models, .release and .remediation; tests/infra/test_observability.py ties them).
DEPLOYMENT_OUTCOMES = ("PROMOTED", "ROLLED_BACK", "REJECTED", "FAILED", "ABORTED")
RELEASE_OUTCOMES = ("RELEASED", "ROLLED_BACK", "PARTIAL", "REJECTED", "FAILED", "SUPERSEDED", "QUEUE_TIMEOUT")
REMEDIATION_OUTCOMES = ("ROLLED_BACK", "ABORT_REQUESTED", "NO_ACTION", "FAILED")

_MINUTE = Duration.minutes(1)
_FIVE_MINUTES = Duration.minutes(5)
_HALF, _THIRD, _QUARTER, _HEIGHT = 12, 8, 6, 6


def rollgate_metric(
    name: str, *, outcome: str, statistic: str = "Sum", period: Duration = _FIVE_MINUTES
) -> cloudwatch.Metric:
    """A metric a Record task emits (Powertools adds the `service` dimension to each)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"outcome": outcome, "service": SERVICE_NAME},
        statistic=statistic,
        period=period,
        label=outcome if name in ("Deployments", "Releases", "Remediations") else f"{name} ({statistic})",
    )


class Observability(Construct):
    """The dashboard (`.dashboard`) and the alarms on Rollgate itself (`.alarms`, by construct id),
    each alarm's action the notifications topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        workflows: Mapping[str, sfn.IStateMachine],
        task_functions: Mapping[str, lambda_.IFunction],
        record_functions: Mapping[str, lambda_.IFunction],
        reconcile_function: lambda_.IFunction,
        dead_letters: Mapping[str, sqs.IQueue],
    ) -> None:
        """`workflows`: DeployFunction, Release and Remediate by name; `task_functions`: every task
        Lambda by module name (the errors graph); `record_functions`: the Record tasks;
        `dead_letters`: the rules' dead-letter queues, by what feeds them."""
        super().__init__(scope, construct_id)
        self._allow_alarms_to_publish(topic, topic_key)
        self.alarm_action = actions.SnsAction(topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        for workflow, (metric_name, label) in {
            "DeployFunction": ("Deployments", "deployment"),
            "Release": ("Releases", "release"),
            "Remediate": ("Remediations", "remediation"),
        }.items():
            self._alarm_failed_workflow(workflow, workflows[workflow], metric_name, label)
        self._alarm(
            "RecordFailed",
            _sum_of(
                {f"record{i}": fn.metric_errors(period=_MINUTE) for i, fn in enumerate(record_functions.values())},
                "Record task errors",
            ),
            "A Record task (the outcome to the ledger and the bus, in "
            f"{', '.join(record_functions)}) failed. The state machine retries transient errors; past them "
            "DeployFunction goes to its Reconcile step, which writes the missing outcome, sends the event and "
            "releases the lease (ReconcileFailed if it cannot: the Reconciler tries again after the execution "
            "ends); a release or remediation ends RecordFailed with no outcome event. Do: read the task's log "
            "(correlation id = the deployment or release "
            "id), check `rollgate history --function F` shows the outcome and `rollgate status --function F` "
            "shows no lease held; if one is, run `rollgate reconcile --function F`.",
        )
        self._alarm(
            "ReconcileFailed",
            reconcile_function.metric_errors(period=_MINUTE, label="Reconcile errors"),
            "Reconcile could not put a deployment right after its execution ended early (stopped, timed out, "
            "failed past Record or Rollback); it also sent 'Rollback Failed' to this topic. The alias may still "
            "be split between two versions and the lease held. Do: `rollgate status --function F` (the function "
            "is in the Rollback Failed message); fix the cause named in the Reconcile function's log, then "
            "`rollgate reconcile --function F`. EventBridge retries the event 8 times, then it goes to the "
            "Reconciler's dead-letter queue.",
        )
        for source, queue in dead_letters.items():
            self._alarm(
                f"{source.capitalize()}DeadLetters",
                queue.metric_approximate_number_of_messages_visible(
                    period=_FIVE_MINUTES, statistic="Maximum", label=f"{source} dead letters"
                ),
                f"Events the {source} rule(s) could not deliver to their Lambda after 8 retries over up to 2 hours "
                "are in this queue: each is a push, an alarm or an ended execution that Rollgate did nothing about. "
                "Do: read the messages (the original event; the error is in their message attributes), fix the "
                "cause, then replay each (`aws events put-events`, or start the workflow / `rollgate reconcile` by "
                "hand) and delete it. The alarm clears when the queue is empty.",
            )

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=Stack.of(self).stack_name,  # the name a person looks for in the console
            default_interval=Duration.days(7),
        )
        self._releases_row()
        self._executions_row(workflows)
        self._errors_row(task_functions, dead_letters)

    # --------------------------------------------------------------------------- alarms
    def _allow_alarms_to_publish(self, topic: sns.ITopic, key: kms.IKey) -> None:
        """CloudWatch publishes alarm actions as its service principal: the topic's policy (which
        replaces SNS's default one) and its customer managed key must let it, for this account's
        alarms only."""
        stack = Stack.of(self)
        principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                    },
                },
            )
        )
        key.grant(principal, "kms:GenerateDataKey*", "kms:Decrypt")

    def _alarm(self, alarm_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # no datapoint is nothing wrong: these metrics exist only when something happens
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)
        self.alarms[alarm_id] = alarm
        return alarm

    def _alarm_failed_workflow(
        self, workflow: str, machine: sfn.IStateMachine, metric_name: str, label: str
    ) -> cloudwatch.Alarm:
        what = {
            "deployment": "its rollback failed (the reason starts 'ROLLBACK FAILED': the alias may still route to "
            "the new version) or a gate failed past its retries",
            "release": "a function of it could not be put back (the reason says which, in capitals)",
            "remediation": "the alarm-triggered or manual rollback could not restore or verify the alias",
        }[label]
        counted: dict[str, cloudwatch.IMetric] = {
            "failed": rollgate_metric(metric_name, outcome="FAILED", period=_MINUTE),
            "timedout": machine.metric_timed_out(period=_MINUTE, statistic="Sum"),
        }
        also = ""
        if label == "deployment":
            # the alias is back, but on a version that fails its own smoke test: service is not restored
            counted["smokefailed"] = rollgate_metric("UnverifiedRollbacks", outcome="ROLLED_BACK", period=_MINUTE)
            also = ", or a rollback restored the alias to a version that FAILED ITS SMOKE TEST"
        return self._alarm(
            f"{workflow}Failed",
            _sum_of(counted, f"{workflow} FAILED or timed out"),
            f"A {label} ended FAILED ({what}){also}, or a {workflow} execution timed out. Rolled back and rejected "
            f"{label}s do not raise this: Rollgate did its job there. Do: `rollgate history --function F` for the "
            "reason (also in this topic's outcome message), `rollgate status --function F` for where the alias "
            "routes; put it right with `rollgate reconcile --function F` (a split alias, a held lease) or "
            "`rollgate rollback --function F`, and read the execution's failed state in the Step Functions console.",
        )

    # --------------------------------------------------------------------------- dashboard
    def _releases_row(self) -> None:
        self.dashboard.add_widgets(
            self._outcomes("Deployments by outcome", "Deployments", DEPLOYMENT_OUTCOMES),
            cloudwatch.GraphWidget(
                title="Rollbacks, rollbacks to a version failing its smoke test, unverified promotions",
                left=[
                    rollgate_metric("Rollbacks", outcome="ROLLED_BACK"),
                    rollgate_metric("UnverifiedRollbacks", outcome="ROLLED_BACK"),
                    rollgate_metric("UnverifiedPromotions", outcome="PROMOTED"),
                ],
                width=_THIRD,
                height=_HEIGHT,
            ),
            self._outcomes("Releases by outcome", "Releases", RELEASE_OUTCOMES),
            self._outcomes("Remediations by outcome", "Remediations", REMEDIATION_OUTCOMES),
            cloudwatch.GraphWidget(
                title="Time to detect and to recover (rollbacks on health), seconds",
                left=[
                    rollgate_metric(name, outcome="ROLLED_BACK", statistic=statistic)
                    for name in ("TimeToDetect", "TimeToRecover")
                    for statistic in ("Average", "Maximum")
                ],
                width=_THIRD,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Deployment duration, seconds (p50 by outcome)",
                left=[
                    rollgate_metric("DeploymentSeconds", outcome=outcome, statistic="p50")
                    for outcome in DEPLOYMENT_OUTCOMES
                ],
                width=_THIRD,
                height=_HEIGHT,
            ),
        )

    def _outcomes(self, title: str, metric_name: str, outcomes: tuple[str, ...]) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(
            title=title,
            left=[rollgate_metric(metric_name, outcome=outcome) for outcome in outcomes],
            stacked=True,
            width=_THIRD,
            height=_HEIGHT,
        )

    def _executions_row(self, workflows: Mapping[str, sfn.IStateMachine]) -> None:
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{name} executions",
                    left=[
                        machine.metric_started(period=_FIVE_MINUTES, label="started"),
                        machine.metric_succeeded(period=_FIVE_MINUTES, label="succeeded"),
                        # a deployment that is not promoted ends in a Fail state on purpose
                        machine.metric_failed(period=_FIVE_MINUTES, label="failed (incl. not promoted)"),
                        machine.metric_timed_out(period=_FIVE_MINUTES, label="timed out"),
                        machine.metric_aborted(period=_FIVE_MINUTES, label="stopped"),
                    ],
                    width=_THIRD,
                    height=_HEIGHT,
                )
                for name, machine in workflows.items()
            )
        )

    def _errors_row(
        self, task_functions: Mapping[str, lambda_.IFunction], dead_letters: Mapping[str, sqs.IQueue]
    ) -> None:
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Task Lambda errors (business failures such as a refused request count too)",
                left=[fn.metric_errors(period=_FIVE_MINUTES, label=module) for module, fn in task_functions.items()],
                width=_HALF,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Dead letters: events the rules could not deliver",
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        period=_FIVE_MINUTES, statistic="Maximum", label=source
                    )
                    for source, queue in dead_letters.items()
                ],
                width=_QUARTER,
                height=_HEIGHT,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms on Rollgate", alarms=list(self.alarms.values()), width=_QUARTER, height=_HEIGHT
            ),
        )


def _sum_of(metrics: Mapping[str, cloudwatch.IMetric], label: str) -> cloudwatch.MathExpression:
    """One alarmable series: the sum of `metrics`, a missing one counting as 0."""
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({name}, 0)" for name in metrics),
        using_metrics=dict(metrics),
        label=label,
        period=_MINUTE,
    )
