"""Step Functions patches (9-11, 17-21): the interpreter on the runtime clock, the states
integration, execution names, redrive, history paging.

Patches (what AWS does / what moto 5.2.5 does / what we change):

 9. Wait states (``WaitFunction._wait_interval``). AWS waits real seconds; moto too. We wait on
    the runtime clock (``clock.wait_on(env.program_state_event, seconds)``), so a 300 s Wait costs
    nothing on the virtual clock (five real seconds on a x60 scaled one), and a stop still ends it.
10. Retry backoff and the ``.sync`` poll (``time`` in ``retrier_decl`` and
    ``state_task_service_callback``): moto ``time.sleep(interval)``; we sleep on the runtime clock.
    AWS notices a ``.sync`` child's end within seconds; moto polls DescribeExecution every 0.5 s,
    which on the virtual clock is a poll (real milliseconds) per half virtual second of a child
    that bakes for minutes: we poll every ``SYNC_POLL_SECONDS`` (5) of the clock instead.
11. State machine timestamps (``datetime`` in five moto.stepfunctions.parser modules): Timestamp
    waits, ``$$.State.EnteredTime``, ``$$.Execution.StartTime``, history and stop dates read the
    runtime clock instead of the wall clock, so the interpreter and the tasks agree on "now".
17. Step Functions' own integration (``StateTaskServiceSfn._normalise_parameters`` /
    ``_normalise_response``), used by ``arn:aws:states:::states:startExecution[.sync[:2]]``. AWS
    takes the ASL parameters in PascalCase (StateMachineArn, Input, Name) and returns PascalCase
    fields (ExecutionArn, StartDate; for .sync also Status, Output …). moto hands the PascalCase
    parameters to boto3 unchanged (botocore fails with KeyError 'StateMachineArn') and reads
    "ExecutionArn" from boto3's camelCase answer. We rename parameters to boto3's member names and
    the answer's top-level fields to PascalCase, dates as epoch milliseconds like AWS.
18. Threads and waits of the interpreter (``threading`` in ten moto.stepfunctions.parser modules,
    ``Thread`` in two, callback's ``Event``; listed in ``_SFN_WAITING``). AWS's interpreter is no
    process of ours; moto's runs every execution, program, Task, Map iteration and Parallel branch
    on real threads that wait on real events, conditions and joins with real timeouts. We swap in
    rollgate_local.virtual_time's Thread/Event/Condition: on a virtual clock each thread is an actor and
    each wait a clock-aware one (virtual time moves only when all of them wait); otherwise they are
    plain threading. EventBridge -> Lambda deliveries (15) are such threads too.
19. Execution names (``StepFunctionsParserBackend.start_execution``). AWS names an execution started
    without a name with a generated UUID; moto names it ``None`` (every unnamed execution gets the
    same ARN, so a second one fails or returns the first). We generate the UUID.
20. RedriveExecution (``StepFunctionResponse.redrive_execution``, added; ``describe_execution``). AWS
    restarts a FAILED, ABORTED or TIMED_OUT Standard execution from the state that did not succeed,
    keeping its ARN, name, input and history (an ExecutionRedriven event, then the new events),
    and reports redriveCount / redriveDate / redriveStatus in DescribeExecution. moto has no such
    action (HTTP 500). We run the execution again on moto's interpreter from the top-level state it
    was in when it failed, with that state's input (a Map or Parallel state is re-run whole: AWS
    re-runs only its unsuccessful iterations), and add the redrive fields. Anything else is
    refused with ExecutionNotRedrivable.
21. GetExecutionHistory (``StepFunctionResponse.get_execution_history``). AWS honours reverseOrder,
    maxResults (1000 at most) and nextToken; moto returns every event, oldest first. We honour them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib
import json
import re
import time as _time
import types
import uuid
from typing import Any, cast

from rollgate_local import virtual_time
from rollgate_local.bridge.core import _clock, _patch

# Where moto keeps its Step Functions interpreter (the patches and their guards name these modules).
_SFN = "moto.stepfunctions.parser"
_SFN_SERVICE = f"{_SFN}.asl.component.state.exec.state_task.service.state_task_service_sfn"
_SFN_TIME_MODULES = (
    f"{_SFN}.models",
    f"{_SFN}.backend.execution",
    f"{_SFN}.asl.component.state.state",
    f"{_SFN}.asl.eval.event.event_manager",
    f"{_SFN}.asl.component.state.wait.wait_function.timestamp",
)
_SFN_EXEC = f"{_SFN}.asl.component.state.exec"
# Modules whose `time.sleep` is a wait the clock must see (-> the least it sleeps): retry backoff,
# the .sync poll.
SYNC_POLL_SECONDS = 5.0
_SFN_SLEEPING_MODULES = {
    f"{_SFN}.asl.component.common.retry.retrier_decl": 0.0,
    f"{_SFN_EXEC}.state_task.service.state_task_service_callback": SYNC_POLL_SECONDS,
}
# 18. Every place the interpreter starts a thread or waits on one: the execution worker, the program
# and its worker thread, each Task's thread and timeout, Map and Parallel (threads, events, the
# CountDownLatch condition), callbacks (.waitForTaskToken, heartbeats). Their `threading` (or the
# names they import from it) becomes rollgate_local.virtual_time's look-alikes, which are plain threading
# unless a virtual clock is installed.
_SFN_WAITING: dict[str, str] = {
    **{
        f"{module}.threading": "threading"
        for module in (
            f"{_SFN}.asl.component.program.program",
            f"{_SFN_EXEC}.execute_state",
            f"{_SFN_EXEC}.state_map.iteration.inline_iteration_component",
            f"{_SFN_EXEC}.state_map.iteration.itemprocessor.map_run_record",
            f"{_SFN_EXEC}.state_map.iteration.job",
            f"{_SFN_EXEC}.state_task.service.state_task_service_callback",
            f"{_SFN_EXEC}.state_parallel.branch_worker",
            f"{_SFN_EXEC}.state_parallel.branches_decl",
            f"{_SFN}.asl.eval.count_down_latch",
            f"{_SFN}.asl.eval.environment",
        )
    },
    f"{_SFN_EXEC}.execute_state.Thread": "Thread",
    f"{_SFN}.backend.execution_worker.Thread": "Thread",
    f"{_SFN}.asl.eval.callback.callback.Event": "Event",
}


class _ClockTime(types.ModuleType):
    """`time` for moto's retrier and .sync poll: sleep() sleeps on the runtime clock (at least
    `minimum` seconds), everything else is `time`."""

    def __init__(self, minimum: float = 0.0) -> None:
        super().__init__("time")
        self._rollgate_wraps = _time
        self._minimum = minimum

    def sleep(self, seconds: float) -> None:
        _clock().sleep(max(seconds, self._minimum))

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


class _VirtualDatetime(_dt.datetime):
    """datetime.datetime whose now() is the runtime clock (naive now() = naive UTC)."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _VirtualDatetime:  # type: ignore[override]
        virtual = _clock().now()
        value = virtual.astimezone(tz) if tz is not None else virtual.astimezone(_dt.UTC).replace(tzinfo=None)
        return cls(
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, value.tzinfo
        )

    @classmethod
    def utcnow(cls) -> _VirtualDatetime:  # type: ignore[override]
        return cls.now(None)


def _virtual_datetime_module() -> types.ModuleType:
    shim = types.ModuleType("datetime")
    shim.__dict__.update({k: v for k, v in vars(_dt).items() if not k.startswith("__")})
    shim.datetime = _VirtualDatetime  # type: ignore[attr-defined]
    shim._rollgate_wraps = _dt  # type: ignore[attr-defined]
    return shim


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    # 9. Wait states wait on the runtime clock, and stop early when the execution stops.
    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        clock = _clock()
        deadline = clock.timestamp() + max(0, wait_seconds)
        while env.is_running():
            remaining = deadline - clock.timestamp()
            if remaining <= 0:
                return
            clock.wait_on(env.program_state_event, remaining)

    _patch(wait_function.WaitFunction, "_wait_interval", wait_interval)

    # 10. Retry backoff sleeps scaled time.
    for module_name, minimum in _SFN_SLEEPING_MODULES.items():
        _patch(importlib.import_module(module_name), "time", _ClockTime(minimum))

    # 18. Every thread, event and condition of the interpreter on the runtime clock (see _SFN_WAITING).
    for dotted, name in _SFN_WAITING.items():
        module = importlib.import_module(dotted.rpartition(".")[0])
        _patch(
            module,
            dotted.rpartition(".")[2],
            virtual_time.threading_module() if name == "threading" else getattr(virtual_time, name),
        )

    # 11. The interpreter's notion of "now" is the runtime clock.
    shim = _virtual_datetime_module()
    for module_name in _SFN_TIME_MODULES:
        _patch(importlib.import_module(module_name), "datetime", shim)

    # 17. states:startExecution: boto3 member names in, PascalCase out.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn

    service = state_task_service_sfn.StateTaskServiceSfn
    original_parameters = service._normalise_parameters
    original_response = service._normalise_response

    def normalise_parameters(
        self: Any, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        original_parameters(self, parameters, boto_service_name, service_action_name)
        action = service_action_name or self._get_boto_service_action()
        members = _boto_members("stepfunctions", action)
        for key in list(parameters):
            member = members.get(key.lower())
            if member and member != key:
                parameters[member] = parameters.pop(key)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        original_response(self, response, boto_service_name, service_action_name)
        if not isinstance(response, dict):
            return
        for key in list(response):
            value = response.pop(key)
            if isinstance(value, _dt.datetime):
                value = int(value.timestamp() * 1000)
            response[key[:1].upper() + key[1:]] = value

    _patch(service, "_normalise_parameters", normalise_parameters)
    _patch(service, "_normalise_response", normalise_response)


@functools.cache
def _boto_members(service: str, action: str) -> dict[str, str]:
    """lower-cased name -> boto3's member name, for the input of `action` (snake_case)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    operation = next(name for name in model.operation_names if _snake(name) == action)
    shape = model.operation_model(operation).input_shape
    return {name.lower(): name for name in (shape.members if shape else {})}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_REDRIVE_COUNT_ATTR = "_rollgate_redrive_count"
_REDRIVE_DATE_ATTR = "_rollgate_redrive_date"
_REDRIVABLE = ("FAILED", "ABORTED", "TIMED_OUT")


class _NotRedrivable(Exception):
    pass


def _redrive_point(program: Any, events: list[dict[str, Any]], execution_input: Any) -> tuple[str, Any]:
    """Where AWS restarts a redriven execution: the top-level state that was running when it
    failed (the last one entered), with the input it was entered with; the start state when it
    failed before entering any."""
    top_level = set(program.states.states)
    point: tuple[str, Any] = (program.start_at.start_at_name, execution_input)
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details and details.get("name") in top_level:
            point = (details["name"], json.loads(details["input"]) if details.get("input") else {})
    return point


def _redrive(execution: Any) -> _dt.datetime:
    """RedriveExecution: the same execution (ARN, name, input, start date) runs again from its
    failed state, its history continued after an ExecutionRedriven event."""
    from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    if status not in _REDRIVABLE:
        raise _NotRedrivable(
            f"Execution with status {status} cannot be redriven: only FAILED, ABORTED or TIMED_OUT executions can"
        )
    if execution.sm_type != "STANDARD":
        raise _NotRedrivable("Only executions of STANDARD state machines can be redriven")
    previous = execution.exec_worker.env.event_manager.get_event_history() if execution.exec_worker else []
    count = getattr(execution, _REDRIVE_COUNT_ATTR, 0) + 1
    redrive_date = _clock().now()
    worker = execution._get_start_execution_worker()
    program = worker._get_evaluation_entrypoint()
    state_name, state_input = _redrive_point(program, previous, execution.input_data)
    env = worker._get_evaluation_environment()
    last_id = max((event["id"] for event in previous), default=0)
    manager = env.event_manager
    manager._history_event_list.extend(previous)
    manager._event_id_gen._next_id = last_id + 1
    env.event_history_context.source_event_id = env.event_history_context.last_published_event_id = last_id
    manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionRedriven,
        event_details=cast(EventDetails, {"executionRedrivenEventDetails": {"redriveCount": count}}),
        update_source_event_id=False,
    )
    env.states.reset(input_value=state_input)
    program.start_at.start_at_name = state_name
    worker.env = env

    def run_from_the_failed_state() -> None:
        program.eval(env)
        worker._execution_communication.terminated()

    worker._execution_logic = run_from_the_failed_state  # started by moto's own worker.start()
    setattr(execution, _REDRIVE_COUNT_ATTR, count)
    setattr(execution, _REDRIVE_DATE_ATTR, redrive_date)
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = execution.error = execution.cause = execution.output = None
    worker.start()
    return redrive_date


def install_executions() -> None:
    from moto.stepfunctions import responses as sfn_responses
    from moto.stepfunctions.exceptions import AWSError, InvalidToken
    from moto.stepfunctions.parser import models as sfn_models

    # 19. An execution started without a name gets a generated one (a UUID, as on AWS).
    original_start = sfn_models.StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    _patch(sfn_models.StepFunctionsParserBackend, "start_execution", start_execution)

    # 20. RedriveExecution, and the redrive fields of DescribeExecution.
    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    def redrive_execution(self: Any) -> Any:
        from moto.core.responses import ActionResult

        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        try:
            return ActionResult({"redriveDate": _redrive(execution)})
        except _NotRedrivable as refused:
            raise ExecutionNotRedrivable(str(refused)) from refused

    _patch(sfn_responses.StepFunctionResponse, "redrive_execution", redrive_execution)

    original_describe = sfn_responses.StepFunctionResponse.describe_execution

    def describe_execution(self: Any) -> Any:
        answer = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        described = cast(dict[str, Any], answer.result)
        described["redriveCount"] = getattr(execution, _REDRIVE_COUNT_ATTR, 0)
        if hasattr(execution, _REDRIVE_DATE_ATTR):
            described["redriveDate"] = getattr(execution, _REDRIVE_DATE_ATTR)
        redrivable = described["status"] in _REDRIVABLE
        described["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
        if not redrivable:
            described["redriveStatusReason"] = f"Execution is {described['status']}"
        return answer

    _patch(sfn_responses.StepFunctionResponse, "describe_execution", describe_execution)

    # 21. GetExecutionHistory honours reverseOrder, maxResults and nextToken.
    original_history = sfn_responses.StepFunctionResponse.get_execution_history

    def get_execution_history(self: Any) -> Any:
        answer = original_history(self)
        history = cast(dict[str, Any], answer.result)
        events = list(history["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        token = str(self._get_param("nextToken") or "0")
        if not token.isdigit():
            raise InvalidToken(f"Invalid Token: {token}")
        start = int(token)
        size = int(self._get_param("maxResults") or 0) or 1000  # AWS: 0 means the maximum, 1000
        history["events"] = events[start : start + size]
        if start + size < len(events):
            history["nextToken"] = str(start + size)
        return answer

    _patch(sfn_responses.StepFunctionResponse, "get_execution_history", get_execution_history)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    f"{_SFN}.asl.component.state.wait.wait_function.wait_function.WaitFunction._wait_interval": (
        "self",
        "env",
        "wait_seconds",
    ),
    f"{_SFN}.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body": ("self", "env"),
    f"{_SFN_SERVICE}.StateTaskServiceSfn._normalise_parameters": (
        "self",
        "parameters",
        "boto_service_name",
        "service_action_name",
    ),
    f"{_SFN_SERVICE}.StateTaskServiceSfn._normalise_response": (
        "self",
        "response",
        "boto_service_name",
        "service_action_name",
    ),
    f"{_SFN}.models.StepFunctionsParserBackend.start_execution": (
        "self",
        "state_machine_arn",
        "name",
        "execution_input",
        "trace_header",
    ),
    "moto.stepfunctions.responses.StepFunctionResponse.describe_execution": ("self",),
    "moto.stepfunctions.responses.StepFunctionResponse.get_execution_history": ("self",),
}
# Not replaced, but the patches call them or read what they set.
RELIED_ON: frozenset[str] = frozenset(
    {
        "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body",
    }
)
# Module attributes swapped for clock-aware shims.
MODULE_ATTRIBUTES: dict[str, str] = {
    **{f"{module}.time": "time" for module in _SFN_SLEEPING_MODULES},
    **_SFN_WAITING,
    **{f"{module}.datetime": "datetime" for module in _SFN_TIME_MODULES},
}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn.StateTaskServiceSfn._normalise_parameters":
        "d75d3da19aad01fb6166a22a30955b50a9c0f5c5da6707e492f9757c455bcb6c",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn.StateTaskServiceSfn._normalise_response":
        "00e0b0a50b1dd4baea457d318dcc88928f27a633d3383c6224ae47c17eedbc87",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function.WaitFunction._wait_interval":
        "8f954dee80372b4b8233918f4d94810949f402cb3ddd2361ef4cbd9719d02253",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body":
        "48463fff19cefa98cfb054311706ba47abfe813da0e65ce1a6376a9101f35f09",
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution":
        "0f8d9dd57baf0c2803dda23c5250b1c787a4a1a3d05239cafbddff1ef905be3a",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl":
        "70bd3a0664d8eefe0ac9be0012343d8140a258d90b841d4d86bdca7507a1769e",
    "moto.stepfunctions.parser.models":
        "be4646bb5c7f1aef74c275bb44a0321b88203d2795e51cd45cf32d391d52a6d0",
    "moto.stepfunctions.parser.backend.execution":
        "7fb8d9974b83b566bf5fb80edf8634c527cf7015ee4184f90d78ad646f2150dc",
    "moto.stepfunctions.parser.asl.component.state.state":
        "70fcbfdfa0d55078f948cdc718b48fa87f472ef8e0b25d6ee06629fe42a78f1a",
    "moto.stepfunctions.parser.asl.eval.event.event_manager":
        "5bdb7c20cc1bcf4e8c93c0340a7413158ea3215eea9b0d5b0ce9c20a4a0b1f0d",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp":
        "34e093f81307e6d049569ef1e0a1c1a63ac0b24010d4def2849dd93ec3504c5b",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback":
        "01b0a4f739385bd98bdf935e58e3b5cadfcfa0356f7df923d04db285dff69710",
    "moto.stepfunctions.parser.asl.component.program.program":
        "2b45e2d237c1c5c10a86f43d7f7b13a8c6ab6d3343b19f7bde3be66586ab6aee",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state":
        "6cc52e59c727d41ef27b6db2cfad63ee6f8ea43328bf7b5f7db3f05d7817ab0d",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component":
        "cf553565e1435ffd9f79d92d8426ae4d7cd4245b3b90e9968f2901b7f138899b",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record":
        "c3caf5ed47f439fde3b741f17548635bf60a3ec8eddd30814c40232a61a0b316",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job":
        "35c3336f2c73ba3d53332832ef215fe0cb75b6752cbc4b311f8b46483dbf8ffc",
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branch_worker":
        "b8f851ffa79b700e008c4b6c8fd0b17aac45f769a4256ed944da22d7cb5aba97",
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl":
        "848a285adb7c4426069a18ebc9732fee073b42c38987819b3b78afd37766c264",
    "moto.stepfunctions.parser.asl.eval.count_down_latch":
        "2ecd6268bd204739ee123f697f5ec4c102f50c53168fb9fd500d869304ed839a",
    "moto.stepfunctions.parser.asl.eval.environment":
        "0c57e3472828e031f6fe278d13264f6ec8bf49115df0fbd2da5be225eb73207c",
    "moto.stepfunctions.parser.backend.execution_worker":
        "f2bc8ae7d18d64e7b8991b4a675814de0cc1564faf2a7c15ac0eff828366d22b",
    "moto.stepfunctions.parser.asl.eval.callback.callback":
        "944daf2ac0bf957cc73686eaec842836dac647f6fe077a8938704203d3e3370c",
    "moto.stepfunctions.responses.StepFunctionResponse.describe_execution":
        "c3953bdc9ce21fda47ee3e996bf749950fb31c22a169464f6f2c878aa8372977",
    "moto.stepfunctions.responses.StepFunctionResponse.get_execution_history":
        "3889cc6224ac2f762d44a217cdd02255957d21862ad88af0c6b30af47b17a206",
}
# fmt: on
