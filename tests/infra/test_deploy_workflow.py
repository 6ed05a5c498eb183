"""The DeployFunction state machine as synthesized: its states, transitions, retries and catches."""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest

import rollgate.domain.deploy.gate_loop as gate_loop
import rollgate.domain.shared.errors as domain_errors
import rollgate.domain.shared.models as models
from rollgate_cdk.states import TRANSIENT_ERRORS

RETRYABLE = [
    "TransientAwsError",
    "ThrottledError",
    "ConflictError",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]

#: state name -> (task module, ResultPath, Next, MaxAttempts)
TASKS: dict[str, tuple[str, str, str, int]] = {
    "Validate": ("validate", "$", "Preflight", 5),
    "Preflight": ("preflight", "$.baseline", "UpdateFunction", 5),
    "UpdateFunction": ("update_function", "$.update", "UpdateSettled?", 5),
    "CheckUpdate": ("check_update", "$.update", "UpdateSettled?", 5),
    "PublishVersion": ("publish_version", "$.version", "VersionActive?", 5),
    "CheckVersion": ("check_version", "$.version", "VersionActive?", 5),
    "SmokeTest": ("smoke_test", "$.smoke", "PreTrafficHook", 5),
    "PreTrafficHook": ("run_hook", "$.pre_traffic", "ProvisionConcurrency", 5),
    "ProvisionConcurrency": ("provision_concurrency", "$.concurrency", "ConcurrencyReady?", 5),
    "CheckConcurrency": ("provision_concurrency", "$.concurrency", "ConcurrencyReady?", 5),
    "ShiftTraffic": ("shift_traffic", "$.canary", "CanaryNext?", 5),
    "JudgeCanary": ("judge_canary", "$.canary", "CanaryNext?", 5),
    # a task token (lambda:invoke.waitForTaskToken), and the default when nobody answers in time
    "AwaitApproval": ("await_approval", "$.canary", "CanaryNext?", 5),
    "ApprovalTimedOut": ("await_approval", "$.canary", "CanaryNext?", 5),
    "Promote": ("promote", "$.watch", "WatchNext?", 5),
    "JudgeWatch": ("judge_watch", "$.watch", "WatchNext?", 5),
    "ShiftControl": ("promote", "$.watch", "WatchNext?", 5),
    "CompleteWatch": ("promote", "$.watch", "WatchNext?", 5),
    "PostTrafficHook": ("run_hook", "$.post_traffic", "ReleaseConcurrency", 5),
    "ReleaseConcurrency": ("release_concurrency", "$.concurrency", "Prune", 5),
    "Prune": ("prune", "$.prune", "RedriveAsked?", 5),
    # the DLQ redrive, only with request.redrive.after_fix (tests/infra/test_redrive_states.py)
    "StartRedrive": ("start_redrive", "$.redrive", "RedriveNext?", 5),
    "CheckRedrive": ("check_redrive", "$.redrive", "RedriveNext?", 5),
    "Rollback": ("rollback", "$.rollback", "Record", 8),
    "Record": ("record", "$.result", "ReleaseLease", 8),
    "ReleaseLease": ("release_lease", "$.lease", "Concluded?", 8),
    # the Reconciler's function, run by the execution itself: it answers as Record does
    "Reconcile": ("reconcile", "$.result", "Concluded?", 8),
}

#: The states from the new version's first allocation or traffic to the post-traffic hook: any failure
#: there goes through Rollback (alias restored, provisioned concurrency put back).
TRAFFIC_STATES = (
    "ProvisionConcurrency",
    "CheckConcurrency",
    "ShiftTraffic",
    "JudgeCanary",
    "Promote",
    "JudgeWatch",
    "ShiftControl",
    "CompleteWatch",
    "PostTrafficHook",
)

#: state name -> its Catch list as (ErrorEquals, ResultPath, Next)
CATCHES: dict[str, list[tuple[list[str], str, str]]] = {
    # ResultPath "$": the input may not be an object, and "$.error" cannot be added to one
    "Validate": [
        (["InvalidRequest"], "$", "RejectInvalidRequest"),
        (["DeploymentInProgress"], "$", "LockedOut"),
        (["States.ALL"], "$", "ValidateFailed"),
    ],
    **{
        name: [(["States.ALL"], "$.error", "Record")]
        for name in (
            "Preflight",
            "UpdateFunction",
            "CheckUpdate",
            "PublishVersion",
            "CheckVersion",
            "SmokeTest",
            "PreTrafficHook",
        )
    },
    **{name: [(["States.ALL"], "$.error", "Rollback")] for name in TRAFFIC_STATES},
    # housekeeping after a promotion: recorded, never a rollback of a healthy release
    "ReleaseConcurrency": [(["States.ALL"], "$.cleanup_error", "Prune")],
    "Prune": [(["States.ALL"], "$.cleanup_error", "RedriveAsked?")],
    "StartRedrive": [(["States.ALL"], "$.cleanup_error", "Record")],
    "CheckRedrive": [(["States.ALL"], "$.cleanup_error", "Record")],
    # past their retries, the last steps are put right by the execution's own Reconcile
    "Rollback": [(["States.ALL"], "$.rollback_error", "Reconcile")],
    "Record": [(["States.ALL"], "$.record_error", "Reconcile")],
    "ReleaseLease": [(["States.ALL"], "$.record_error", "Reconcile")],
    "Reconcile": [(["States.ALL"], "$.reconcile_error", "ReconcileFailed")],
    # no answer in time takes the policy's default; a rejection (ApprovalRejected) rolls back
    "AwaitApproval": [
        (["States.Timeout"], "$.approval_timeout", "ApprovalTimedOut"),
        (["States.ALL"], "$.error", "Rollback"),
    ],
    "ApprovalTimedOut": [(["States.ALL"], "$.error", "Rollback")],
}

WAITS = {
    "WaitForUpdate": ("$.update.poll_interval_seconds", "CheckUpdate"),
    "WaitForVersion": ("$.version.poll_interval_seconds", "CheckVersion"),
    "Bake": ("$.canary.wait_seconds", "JudgeCanary"),
    "WatchWait": ("$.watch.wait_seconds", "JudgeWatch"),
    "WaitForConcurrency": ("$.concurrency.poll_interval_seconds", "CheckConcurrency"),
    "WaitForRedrive": ("$.redrive.poll_interval_seconds", "CheckRedrive"),
}

#: Choice -> ([(Variable, StringEquals, Next)], Default)
CHOICES: dict[str, tuple[list[tuple[str, str, str]], str]] = {
    "UpdateSettled?": ([("$.update.status", "InProgress", "WaitForUpdate")], "PublishVersion"),
    "VersionActive?": ([("$.version.state", "Active", "SmokeTest")], "WaitForVersion"),
    "ConcurrencyReady?": ([("$.concurrency.status", "InProgress", "WaitForConcurrency")], "ShiftTraffic"),
    "CanaryNext?": (
        [
            ("$.canary.next", "bake", "Bake"),
            ("$.canary.next", "promote", "Promote"),
            ("$.canary.next", "approve", "AwaitApproval"),
            ("$.canary.next", "shift", "ShiftTraffic"),
            ("$.canary.next", "rollback", "Rollback"),
        ],
        # a Choice cannot Catch, so an unexpected answer rolls back too
        "Rollback",
    ),
    "WatchNext?": (
        [
            ("$.watch.next", "watch", "WatchWait"),
            ("$.watch.next", "rollback", "Rollback"),
            ("$.watch.next", "control", "ShiftControl"),
            ("$.watch.next", "complete", "CompleteWatch"),
            ("$.watch.next", "done", "PostTrafficHook"),
        ],
        # an unexpected answer must not end the execution with a holdback left on the alias
        "Rollback",
    ),
    "Concluded?": ([("$.result.status", "PROMOTED", "Promoted")], "NotPromoted"),
    "RedriveNext?": ([("$.redrive.status", "Running", "WaitForRedrive")], "Record"),
}

FAILS = {
    "RejectInvalidRequest": {"Type": "Fail", "Error": "InvalidRequest", "CausePath": "$.Cause"},
    "LockedOut": {"Type": "Fail", "Error": "DeploymentInProgress", "CausePath": "$.Cause"},
    "ValidateFailed": {"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
    "ReconcileFailed": {"Type": "Fail", "Error": "ReconcileFailed", "CausePath": "$.reconcile_error.Cause"},
    "NotPromoted": {"Type": "Fail", "ErrorPath": "$.result.error_name", "CausePath": "$.result.reason"},
}


def _states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(definition["States"])


def test_the_state_machine_has_exactly_the_agreed_states(deploy_definition: dict[str, Any]) -> None:
    # RedriveAsked? is a Choice on a boolean: tests/infra/test_redrive_states.py
    expected = {*TASKS, *WAITS, *CHOICES, *FAILS, "Promoted", "RedriveAsked?"}
    assert deploy_definition["StartAt"] == "Validate"
    assert set(_states(deploy_definition)) == expected


@pytest.mark.parametrize("state_name", sorted(TASKS))
def test_every_task_invokes_its_own_function_directly(
    deploy_definition: dict[str, Any], synthesized: Any, state_name: str
) -> None:
    module, result_path, next_state, _ = TASKS[state_name]
    state = _states(deploy_definition)[state_name]
    assert state["Type"] == "Task"
    # payload_response_only: the Resource is the function ARN, not arn:aws:states:::lambda:invoke
    # (but for a task token, whose Resource is lambda:invoke.waitForTaskToken: tests/infra/test_approval.py)
    assert _task_module(state, synthesized) == module
    assert state.get("ResultPath", "$") == result_path
    assert state["Next"] == next_state


@pytest.mark.parametrize("state_name", sorted(TASKS))
def test_every_task_retries_transient_errors_only(deploy_definition: dict[str, Any], state_name: str) -> None:
    max_attempts = TASKS[state_name][3]
    assert _states(deploy_definition)[state_name]["Retry"] == [
        {
            "ErrorEquals": RETRYABLE,
            "IntervalSeconds": 2,
            "MaxAttempts": max_attempts,
            "BackoffRate": 2,
            "JitterStrategy": "FULL",
        }
    ]


@pytest.mark.parametrize("state_name", sorted(TASKS))
def test_every_task_catches_into_the_agreed_path(deploy_definition: dict[str, Any], state_name: str) -> None:
    catches = [
        (catch["ErrorEquals"], catch["ResultPath"], catch["Next"])
        for catch in _states(deploy_definition)[state_name]["Catch"]
    ]
    assert catches == CATCHES[state_name]


def test_validate_gets_the_request_and_the_execution(deploy_definition: dict[str, Any]) -> None:
    assert _states(deploy_definition)["Validate"]["Parameters"] == {
        "request.$": "$",
        "execution.$": "$$.Execution",
    }


def test_waits_take_their_duration_from_the_previous_task(deploy_definition: dict[str, Any]) -> None:
    states = _states(deploy_definition)
    waits = {name: state for name, state in states.items() if state["Type"] == "Wait"}
    assert set(waits) == set(WAITS)
    for name, (seconds_path, next_state) in WAITS.items():
        assert waits[name]["SecondsPath"] == seconds_path
        assert waits[name]["Next"] == next_state
        # never a fixed sleep
        assert not {"Seconds", "Timestamp", "TimestampPath"} & set(waits[name])


def test_choices_route_on_the_task_answers(deploy_definition: dict[str, Any]) -> None:
    states = _states(deploy_definition)
    for name, (rules, default) in CHOICES.items():
        choice = states[name]
        assert choice["Type"] == "Choice"
        assert [(rule["Variable"], rule["StringEquals"], rule["Next"]) for rule in choice["Choices"]] == rules
        assert choice["Default"] == default


def test_the_execution_ends_on_the_recorded_outcome(deploy_definition: dict[str, Any]) -> None:
    states = _states(deploy_definition)
    assert states["Promoted"] == {"Type": "Succeed", "OutputPath": "$.result"}
    for name, expected in FAILS.items():
        assert states[name] == expected


def test_no_path_from_moved_traffic_skips_rollback(deploy_definition: dict[str, Any]) -> None:
    """Once ShiftTraffic ran, every failure edge leads to Rollback (never straight to Record)."""
    states = _states(deploy_definition)
    for name in TRAFFIC_STATES:
        assert {catch["Next"] for catch in states[name]["Catch"]} == {"Rollback"}


def test_error_names_are_the_domain_exception_names(deploy_definition: dict[str, Any]) -> None:
    """Retry/Catch name rollgate.domain.shared.errors classes (Step Functions matches names exactly)."""
    assert tuple(TRANSIENT_ERRORS) == tuple(domain_errors.TRANSIENT_ERRORS)
    named = set()
    for state in _states(deploy_definition).values():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            named.update(rule["ErrorEquals"])
    ours = {name for name in named if not name.startswith(("States.", "Lambda."))}
    for name in ours:
        error = getattr(domain_errors, name, None)
        assert isinstance(error, type) and issubclass(error, domain_errors.RollgateError), name
    # transient errors retried, business errors never
    assert set(domain_errors.TRANSIENT_ERRORS) <= named
    retried = {
        name
        for state in _states(deploy_definition).values()
        for rule in state.get("Retry", [])
        for name in rule["ErrorEquals"]
    }
    assert not retried & set(domain_errors.REJECTING_ERRORS)


def test_state_machine_is_standard_logged_and_traced(deploy_state_machine: dict[str, Any]) -> None:
    properties = deploy_state_machine["Properties"]
    assert properties.get("StateMachineType", "STANDARD") == "STANDARD"
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    assert len(logging["Destinations"]) == 1
    assert properties["TracingConfiguration"] == {"Enabled": True}


@pytest.mark.parametrize(
    ("choice", "model", "field"),
    [("CanaryNext?", "CanaryProgress", "next"), ("WatchNext?", "WatchProgress", "next")],
)
def test_every_answer_a_judge_can_give_has_an_explicit_route(
    deploy_definition: dict[str, Any], choice: str, model: str, field: str
) -> None:
    """The domain's `next` values (a Literal) each get a rule: the Default is for the unexpected."""
    answers = set(typing.get_args(getattr(models, model).model_fields[field].annotation))
    routed = {rule["StringEquals"] for rule in _states(deploy_definition)[choice]["Choices"]}
    assert answers == routed


def _task_module(state: dict[str, Any], synthesized: Any) -> str:
    resource = state["Resource"]
    if str(resource).endswith(":states:::lambda:invoke.waitForTaskToken"):  # the function is a parameter
        resource = state["Parameters"]["FunctionName"]
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}", resource)
    assert match, state["Resource"]
    handler = synthesized.json["Resources"][match.group(1)]["Properties"]["Handler"]
    return str(handler).removeprefix("rollgate.tasks.deploy.").removesuffix(".lambda_handler")


@pytest.mark.parametrize(("record_key", "choice"), [("canary", "CanaryNext?"), ("watch", "WatchNext?")])
def test_gate_loop_routes_every_answer_as_the_state_machine_does(
    deploy_definition: dict[str, Any], synthesized: Any, record_key: str, choice: str
) -> None:
    """rollgate.domain.deploy.gate_loop (what the unit tests and the benchmark run) follows each `next`
    answer exactly where the synthesized Choice sends it: through a Wait on the record's
    wait_seconds or not, into the same task module with the same ResultPath, or out of the loop
    (Rollback, Record). One copy of "what next", checked against the other."""
    states = _states(deploy_definition)
    rules = {rule["StringEquals"]: rule["Next"] for rule in states[choice]["Choices"]}
    routes = gate_loop.ROUTES[record_key]
    assert set(routes) == set(rules)
    assert states[choice]["Default"] == "Rollback"  # what run_gates does with an answer it has no route for
    entry = states[states["ConcurrencyReady?"]["Default"]]  # the canary starts once the allocation is READY
    assert _task_module(entry, synthesized) == gate_loop.ENTRY.module
    assert entry["ResultPath"] == f"$.{gate_loop.ENTRY.result_key}"
    for answer, route in routes.items():
        target = states[rules[answer]]
        waited = target["Type"] == "Wait"
        if waited:
            assert target["SecondsPath"] == f"$.{record_key}.wait_seconds"
            target = states[target["Next"]]
        if route.stop:
            # done: the post-traffic hook, then the housekeeping before Record (not the loop's business)
            assert rules[answer] == ("PostTrafficHook" if answer == gate_loop.DONE else "Rollback"), answer
            continue
        assert waited == route.wait, answer
        assert target["Type"] == "Task", answer
        assert _task_module(target, synthesized) == route.module, answer
        assert target["ResultPath"] == f"$.{route.result_key}", answer
        assert target["Next"] == ("CanaryNext?" if route.result_key == "canary" else "WatchNext?"), answer


def test_the_canary_waits_for_provisioned_concurrency_to_be_ready(deploy_definition: dict[str, Any]) -> None:
    """No traffic moves before the new version's allocation is READY: every path from the smoke
    test to ShiftTraffic goes through ConcurrencyReady?, whose only exit to the canary is its Default
    (status not InProgress), and the poll waits on the record's interval (never a fixed sleep)."""
    states = _states(deploy_definition)
    assert states["SmokeTest"]["Next"] == "PreTrafficHook"
    assert states["PreTrafficHook"]["Next"] == "ProvisionConcurrency"
    into_shift = {
        name for name, st in states.items() if st.get("Next") == "ShiftTraffic" or st.get("Default") == "ShiftTraffic"
    }
    into_shift |= {
        name for name, st in states.items() for rule in st.get("Choices", []) if rule["Next"] == "ShiftTraffic"
    }
    assert into_shift == {"ConcurrencyReady?", "CanaryNext?"}


def test_every_record_status_the_concurrency_task_gives_is_routed(deploy_definition: dict[str, Any]) -> None:
    answers = set(typing.get_args(models.ConcurrencyProgress.model_fields["status"].annotation))
    assert "InProgress" in answers  # the one that waits; every other goes on (the Choice's Default)
    rules = {rule["StringEquals"] for rule in _states(deploy_definition)["ConcurrencyReady?"]["Choices"]}
    assert rules == {"InProgress"}


def test_post_traffic_failure_rolls_back_and_housekeeping_never_does(deploy_definition: dict[str, Any]) -> None:
    states = _states(deploy_definition)
    assert [c["Next"] for c in states["PostTrafficHook"]["Catch"]] == ["Rollback"]
    for name in ("ReleaseConcurrency", "Prune"):
        assert {c["Next"] for c in states[name]["Catch"]} <= {"Prune", "Record", "RedriveAsked?"}
        assert {c["ResultPath"] for c in states[name]["Catch"]} == {"$.cleanup_error"}
    assert "cleanup_error" in models.DeploymentContext.model_fields


def test_the_cli_reads_each_task_record_where_the_state_machine_puts_it(deploy_definition: dict[str, Any]) -> None:
    """`rollgate watch` prints each gate from its record: a task the CLI does not map, or maps to
    another key than the task's ResultPath, would print nothing or the wrong gate."""
    from rollgate.contract import RESULT_KEYS

    for name, state in _states(deploy_definition).items():
        if state["Type"] != "Task" or name == "Validate":
            continue
        path = state.get("ResultPath")
        assert name in RESULT_KEYS, f"{name} has no entry in rollgate_cli.progress.RESULT_KEYS"
        assert path == f"$.{RESULT_KEYS[name]}", f"{name}: ResultPath {path} but the CLI reads {RESULT_KEYS[name]}"


def _task_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Lambda Task state of a definition, Map item processors included."""
    found = {}
    for name, state in states.items():
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator") or {}
            found.update(_task_states(processor.get("States", {})))
        elif state["Type"] == "Task" and "states:startExecution" not in str(state.get("Resource", "")):
            found[name] = state  # a task Lambda (invoked directly, or with a task token)
    return found


def test_every_lambda_task_of_every_workflow_is_a_contract_step_with_its_result_path(synthesized: Any) -> None:
    from rollgate import contract
    from tests.infra.conftest import parse_definition

    machines = synthesized.resources("AWS::StepFunctions::StateMachine")
    seen = set()
    for machine in machines.values():
        states = parse_definition(machine["Properties"]["DefinitionString"])["States"]
        for name, state in _task_states(states).items():
            step = contract.step(name)  # KeyError: a task state the contract does not know
            assert state.get("ResultPath", "$") == step.result_path, name
            seen.add(name)
    every = {s.state for s in (*contract.DEPLOY_STEPS, *contract.RELEASE_STEPS, *contract.REMEDIATE_STEPS)}
    assert seen == every
