"""EventBridge patches (15, 16, 26): rule targets delivered as AWS does, alarm and execution state
changes put on the default bus.

    drain_deliveries(timeout: float = 5.0) -> bool   waits for EventBridge -> Lambda deliveries;
                                                     False if some still run

Patches (what AWS does / what moto 5.2.5 does / what we change):

15. EventBridge rule targets (``Rule.send_to_targets``). AWS delivers an event an ENABLED rule's
    pattern matches to each target, among them Lambda functions (an asynchronous invoke), SNS topics
    (Publish) and Step Functions state machines (StartExecution), each given what the target's Input
    (that JSON), InputPath (that part of the event) or InputTransformer makes of the event, else the
    event itself (time in ISO 8601); an InputTransformer whose template is a JSON string gives SNS
    that plain text. moto delivers to log groups, archives, SQS, buses and API destinations only
    (anything else raises NotImplementedError out of PutEvents), applies InputTransformer only, and
    also delivers for DISABLED and schedule-only rules. We skip DISABLED and schedule-only rules,
    deliver Lambda, SNS and Step Functions targets ourselves with AWS's input rules (moto's own
    ``EventTemplateParser.parse`` for InputTransformer) and hand the other targets to moto. A Lambda
    delivery runs on a daemon thread as an Event invoke through the data plane (which retries it and
    dead-letters it like Lambda), so a slow or failing handler never holds up or fails PutEvents;
    handlers on that thread still see the mock (mock_aws patches botocore process-wide). A delivery
    that cannot be made (no such function, topic or state machine) is a RuntimeWarning, never a
    PutEvents failure. uninstall() first waits (a few seconds at most) for deliveries still running.
    Left as moto has them: the targets moto delivers get its default template (no "account") or the
    InputTransformer's output, and ignore Input and InputPath.
16. Alarm state changes (``CloudWatchBackend.set_alarm_state``). AWS puts a "CloudWatch Alarm State
    Change" event (source aws.cloudwatch) on the account's default bus whenever an alarm's state
    value changes; moto puts none, and stamps the state with the wall clock. We stamp it with the
    runtime clock and, when the value changed, put AWS's event through the events backend's
    put_events (in process, so rules on the default bus match it; PutEvents on AWS refuses "aws."
    sources): resources [alarm ARN], time, and detail {alarmName, state and previousState {value,
    reason, reasonData when given, timestamp "...T..:..:...mmm+0000"}, configuration {description,
    metrics [{id, metricStat {metric {namespace, name, dimensions {Name: Value}}, period, stat},
    returnData}] or the alarm's metric queries}}. Delivery problems never fail SetAlarmState.
    Not modelled: moto creates alarms in OK (AWS: INSUFFICIENT_DATA), and PutMetricAlarm on an
    existing alarm resets it to OK without an event (AWS keeps the state).
26. Execution status changes (``BaseExecutionWorkerCommunication.terminated``). AWS puts a "Step
    Functions Execution Status Change" event (source aws.states) on the account's default bus when
    a Standard execution ends; moto puts none. When moto has reflected the end (SUCCEEDED, FAILED,
    TIMED_OUT, ABORTED) we put AWS's event through the events backend's put_events, as for 16:
    resources [execution ARN], time (the runtime clock), detail {executionArn, stateMachineArn,
    name, status, startDate and stopDate (epoch ms), input and output (JSON text), inputDetails and
    outputDetails {included: true}, error, cause}. This is what starts Rollgate's Reconcile rule.
    Delivery problems never fail the execution. Not modelled: the RUNNING event at the start.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import json
import time as _time
import uuid
import warnings
from typing import Any

from rollgate_local import virtual_time
from rollgate_local.bridge.contract import InvokeRequest
from rollgate_local.bridge.core import _clock, _dp, _patch, _state
from rollgate_local.bridge.stepfunctions import _SFN

_DELIVERED_HERE = frozenset({"lambda", "sns", "states"})  # target services 15 delivers itself
_ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(service, region, account) of an ARN."""
    parts = arn.split(":")
    return (parts[2], parts[3], parts[4]) if len(parts) > 5 else ("", "", "")


def _iso_seconds(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target sees it: no moto bookkeeping, time in ISO 8601 (moto keeps epoch seconds)."""
    delivered = {key: value for key, value in event.items() if key != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = _iso_seconds(float(delivered["time"]))
    return delivered


def _target_input(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives, by AWS's rules: Input, else InputPath, else InputTransformer, else the event."""
    delivered = _as_delivered(event)
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse as parse_path

        matches = parse_path(target["InputPath"]).find(delivered)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        ingested = event.get("ingestion-time", _time.time())  # moto's parser needs it
        return _transformed(rule, transformer, {**delivered, "ingestion-time": ingested})
    return delivered


def _transformed(rule: Any, transformer: dict[str, Any], event: Any) -> Any:
    """An InputTransformer's output. A JSON template (an object, or a "quoted string" that becomes
    text) goes through moto's parser, as for the targets moto delivers. AWS also takes a plain-text
    template ("<id> is in state <state>"), and inserts values verbatim (unescaped) in both kinds, so a
    template that is no JSON once filled is delivered as text (a string template's own). The predefined
    <aws.events.rule-name> and <aws.events.rule-arn>, which moto does not know, are filled in first."""
    from moto.events.utils import EventTemplateParser

    template = str(transformer.get("InputTemplate") or "")
    for variable, value in (("aws.events.rule-name", rule.name), ("aws.events.rule-arn", rule.arn)):
        template = template.replace(f"<{variable}>", value)
    paths = transformer.get("InputPathsMap") or {}
    try:
        return EventTemplateParser.parse(input_template=template, input_paths_map=paths, event=event)
    except ValueError:
        pass
    from jsonpath_ng.ext import parse as parse_path

    text = template
    with contextlib.suppress(ValueError):
        literal = json.loads(template)
        if isinstance(literal, str):  # a JSON string template: its text, placeholders and all
            text = literal
    for variable, path in paths.items():
        matches = parse_path(path).find(event)
        if matches:
            text = text.replace(f"<{variable}>", EventTemplateParser._stringify(matches[0].value))
    return text


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    """Deliver `event` to one Lambda, SNS or Step Functions target; problems are warnings, as on AWS
    (where they end in the target's retry policy and dead-letter queue, not in PutEvents)."""
    arn = str(target.get("Arn", ""))
    service, region, account = _arn_parts(arn)
    try:
        value = _target_input(rule, target, event)
        if service == "lambda":
            _invoke_later(
                InvokeRequest(
                    account=account,
                    region=region,
                    function_name=arn,
                    qualifier=None,
                    payload=json.dumps(value).encode(),
                    invocation_type="Event",
                )
            )
        elif service == "sns":
            from moto.sns.models import sns_backends

            message = value if isinstance(value, str) else json.dumps(value)  # a JSON string is plain text
            sns_backends[account][region].publish(message, arn=arn)
        elif service == "states":
            from moto.stepfunctions.responses import get_backend

            get_backend(account, region).start_execution(arn, str(uuid.uuid4()), json.dumps(value))
    except Exception as error:
        warnings.warn(
            f"EventBridge could not deliver event {event.get('id')} to target {target.get('Id')} ({arn}): {error!r}",
            RuntimeWarning,
            stacklevel=2,
        )


def _invoke_later(request: InvokeRequest) -> None:
    """An asynchronous invoke on a daemon thread, like EventBridge's: PutEvents does not wait for it."""

    def run() -> None:
        try:
            _dp().handle_invoke(request)  # Event: the data plane retries and dead-letters failures
        except Exception as error:  # e.g. the function no longer exists, or the bridge was uninstalled
            warnings.warn(
                f"EventBridge could not invoke {request.function_name}: {error!r}", RuntimeWarning, stacklevel=1
            )
        finally:
            with _state.deliveries_lock:
                _state.deliveries.discard(thread)

    # an actor of a virtual clock: the clock waits for it like for any thread of the interpreter
    thread = virtual_time.Thread(
        target=run, daemon=True, name=f"rollgate-eventbridge-{request.function_name.rsplit(':', 1)[-1]}"
    )
    with _state.deliveries_lock:
        _state.deliveries.add(thread)
    thread.start()


def drain_deliveries(timeout: float = 5.0) -> bool:
    """Wait until no EventBridge -> Lambda delivery is running, including the ones those handlers
    cause: on a virtual clock as long as they take (they are actors: a delivery that waits forever is
    a Deadlock, not a hang), else at most `timeout` real seconds. False if some are still running."""
    deadline = _time.monotonic() + timeout
    virtual = virtual_time.installed_clock() is not None
    while True:
        with _state.deliveries_lock:
            running = [thread for thread in _state.deliveries if thread.is_alive()]
        remaining = deadline - _time.monotonic()
        if not running:
            return True
        if virtual:
            running[0].join()
            continue
        if remaining <= 0:
            warnings.warn(
                f"{len(running)} EventBridge -> Lambda deliveries still running after {timeout} s",
                RuntimeWarning,
                stacklevel=2,
            )
            return False
        running[0].join(remaining)


def _alarm_timestamp(moment: _dt.datetime) -> str:
    """CloudWatch's event timestamp: 2019-10-02T17:04:40.985+0000."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)).astimezone(_dt.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def _alarm_state(alarm: Any) -> dict[str, Any]:
    state = {"value": alarm.state_value, "reason": alarm.state_reason}
    if alarm.state_reason_data not in (None, "", "{}"):  # "{}" is moto's placeholder at creation
        state["reasonData"] = alarm.state_reason_data
    state["timestamp"] = _alarm_timestamp(alarm.state_updated_timestamp)
    return state


def _metric_stat(namespace: str, name: str, dimensions: list[Any], period: Any, stat: str | None) -> dict[str, Any]:
    return {
        "metric": {"namespace": namespace, "name": name, "dimensions": {d.name: d.value for d in dimensions}},
        "period": int(period) if period is not None else None,
        "stat": stat,
    }


def _alarm_metrics(alarm: Any) -> list[dict[str, Any]]:
    """configuration.metrics of the event: the alarm's metric queries, or its one metric."""
    if alarm.metric_data_queries:
        metrics = []
        for query in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": query.id}
            if query.expression:
                entry["expression"] = query.expression
            if query.label:
                entry["label"] = query.label
            if query.metric_stat is not None:
                stat = query.metric_stat
                entry["metricStat"] = _metric_stat(
                    stat.metric.namespace, stat.metric.metric_name, stat.metric.dimensions, stat.period, stat.stat
                )
            entry["returnData"] = query.return_data is None or str(query.return_data).lower() != "false"
            metrics.append(entry)
        return metrics
    if not alarm.metric_name:
        return []
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),  # AWS: an opaque id, stable per alarm
            "metricStat": _metric_stat(
                alarm.namespace,
                alarm.metric_name,
                alarm.dimensions,
                alarm.period,
                alarm.extended_statistic or alarm.statistic,
            ),
            "returnData": True,
        }
    ]


def _alarm_state_change_detail(alarm: Any, previous: dict[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    if alarm.description:
        configuration["description"] = alarm.description
    if getattr(alarm, "rule", None):  # a composite alarm
        configuration["alarmRule"] = alarm.rule
    else:
        configuration["metrics"] = _alarm_metrics(alarm)
    return {
        "alarmName": alarm.name,
        "state": _alarm_state(alarm),
        "previousState": previous,
        "configuration": configuration,
    }


def _put_alarm_state_change(account: str, region: str, alarm: Any, previous: dict[str, Any], at: _dt.datetime) -> None:
    """The "CloudWatch Alarm State Change" event on the default bus of the alarm's account and region."""
    from moto.events.models import events_backends

    entry = {
        "Source": "aws.cloudwatch",
        "DetailType": _ALARM_DETAIL_TYPE,
        "Detail": json.dumps(_alarm_state_change_detail(alarm, previous)),
        "Resources": [alarm.alarm_arn],
        "Time": at.timestamp(),
    }
    try:
        results = events_backends[account][region].put_events([entry])
        failed = [r for r in results if r.get("ErrorCode")]
        if failed:
            raise RuntimeError(failed)
    except Exception as error:  # CloudWatch's SetAlarmState never fails because of EventBridge
        warnings.warn(
            f"the state change event of alarm {alarm.name} was not put on the default bus: {error!r}",
            RuntimeWarning,
            stacklevel=3,
        )


_EXECUTION_DETAIL_TYPE = "Step Functions Execution Status Change"


def _epoch_ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, _dt.datetime) else None


def _put_execution_status_change(execution: Any, at: _dt.datetime) -> None:
    """The "Step Functions Execution Status Change" event of an execution that ended (26)."""
    from moto.events.models import events_backends

    status = getattr(execution.exec_status, "value", execution.exec_status)
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date) or _epoch_ms(at),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if execution.output is not None else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": execution.error,
        "cause": execution.cause,
    }
    entry = {
        "Source": "aws.states",
        "DetailType": _EXECUTION_DETAIL_TYPE,
        "Detail": json.dumps(detail, default=str),
        "Resources": [execution.exec_arn],
        "Time": at.timestamp(),
    }
    try:
        results = events_backends[execution.account_id][execution.region_name].put_events([entry])
        failed = [r for r in results if r.get("ErrorCode")]
        if failed:
            raise RuntimeError(failed)
    except Exception as error:  # the execution has ended either way: EventBridge never changes that
        warnings.warn(
            f"the status change event of {execution.exec_arn} was not put on the default bus: {error!r}",
            RuntimeWarning,
            stacklevel=3,
        )


def install() -> None:
    from moto.cloudwatch import models as cloudwatch_models
    from moto.events import models as events_models

    # 15. Rule targets: Lambda, SNS and Step Functions delivered here, the rest by moto.
    original_send = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.state == "DISABLED" or self.event_pattern.dump() is None:
            return  # AWS: a disabled rule, or one with only a ScheduleExpression, matches no event
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if _arn_parts(str(t.get("Arn", "")))[0] in _DELIVERED_HERE]
        for target in ours:
            _deliver(self, target, original_event)
        theirs = [t for t in self.targets if t not in ours]
        if theirs:
            rule = copy.copy(self)  # the same rule with only the targets moto delivers
            rule.targets = theirs
            original_send(rule, original_event, transform_input)

    _patch(events_models.Rule, "send_to_targets", send_to_targets)

    # 16. Alarm state changes stamped with the runtime clock and put on the default bus.
    original_set_alarm_state = cloudwatch_models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        previous = _alarm_state(alarm) if alarm is not None else None
        original_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        now = _clock().now()
        alarm.state_updated_timestamp = now.astimezone(_dt.UTC).replace(tzinfo=None)  # naive UTC, like moto's
        if previous is not None and previous["value"] != alarm.state_value:
            _put_alarm_state_change(self.account_id, self.region_name, alarm, previous, now)

    _patch(cloudwatch_models.CloudWatchBackend, "set_alarm_state", set_alarm_state)

    # 26. The end of an execution put on the default bus.
    from moto.stepfunctions.parser.backend import execution as sfn_execution

    original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        _put_execution_status_change(self.execution, _clock().now())

    _patch(sfn_execution.BaseExecutionWorkerCommunication, "terminated", terminated)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.events.models.Rule.send_to_targets": ("self", "original_event", "transform_input"),
    "moto.cloudwatch.models.CloudWatchBackend.set_alarm_state": (
        "self",
        "alarm_name",
        "reason",
        "reason_data",
        "state_value",
    ),
    f"{_SFN}.backend.execution.BaseExecutionWorkerCommunication.terminated": ("self",),
    "moto.events.utils.EventTemplateParser.parse": ("input_template", "input_paths_map", "event"),
    "moto.events.models.EventsBackend.put_events": ("self", "events"),
    "moto.sns.models.SNSBackend.publish": ("self", "message", "arn"),
    "moto.stepfunctions.responses.get_backend": ("account", "region"),
    "moto.cloudwatch.models.Alarm.update_state": ("self", "reason", "reason_data", "state_value"),
}
# Not replaced, but the patches call them or read what they set.
RELIED_ON: frozenset[str] = frozenset(
    {
        "moto.events.utils.EventTemplateParser.parse",
        "moto.events.models.EventsBackend.put_events",
        "moto.sns.models.SNSBackend.publish",
        "moto.stepfunctions.responses.get_backend",
        "moto.cloudwatch.models.Alarm.update_state",
    }
)
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication.terminated":
        "360372a6a57bf99b6067dcd0a364f56330f090650dc94d32f80b41b875456caf",
    "moto.events.models.Rule.send_to_targets":
        "472e002e2dab8a599554a7d6c7ea0910625a5b39c7699b9ca4404255efcfc172",
    "moto.cloudwatch.models.CloudWatchBackend.set_alarm_state":
        "a25532144b2a458c71a552544136bfc408fb2f76ff4c54b748db39a2b598c29e",
    "moto.events.utils.EventTemplateParser.parse":
        "40a5a46a321811bb2643aaabb7b45c37f75644fcce9cb95524e729a43f0d97d7",
    "moto.events.models.EventsBackend.put_events":
        "c56f6ac1f932c70d3dbe82d2e85d4a6de2bdc2368dda47d755d3548481e46783",
    "moto.sns.models.SNSBackend.publish":
        "6356a2b5b79eb3de95310121382af269daf267821a5c936c9d728d4e96a4fe28",
    "moto.stepfunctions.responses.get_backend":
        "e736380f7d9c98a50540b6b8e86c014eeb8c3beb66eefc05b2fa73796b0d1589",
    "moto.cloudwatch.models.Alarm.update_state":
        "9308fec8c5cd8039de8afdef01bd41053f417824ec558b81e58f2753555998d5",
}
# fmt: on
