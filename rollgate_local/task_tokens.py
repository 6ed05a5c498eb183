"""Task tokens (`.waitForTaskToken`) in the local runtime: what moto does and the one thing it does not.

moto 5.2.5's Step Functions interpreter runs `arn:aws:states:::lambda:invoke.waitForTaskToken`
states as AWS does: `$$.Task.Token` in the payload, the state waiting (on the runtime's virtual
clock, through rollgate_local.virtual_time's Event) until SendTaskSuccess or SendTaskFailure answers the
token or `TimeoutSeconds` / `TimeoutSecondsPath` ends it with States.Timeout; a token answered twice
is InvalidToken. What it drops is SendTaskFailure's `cause`: its response handler passes only the
error, so a Catch sees `Cause: null` where AWS gives the cause sent (the approval gate's rejection
reason). `install` passes the cause on. tests/local/test_task_tokens.py checks all of it and fails
naming the symbol when a moto upgrade moves it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from rollgate_local import patch_sources

#: What the patch replaces, and the sha256 of its moto 5.2.5 source: a moto that changed it needs
#: the patch re-read (then update the fingerprint: `python -m rollgate_local.task_tokens`).
RESPONSE_HANDLER = "moto.stepfunctions.responses.StepFunctionResponse.send_task_failure"
PARSER_BACKEND = "moto.stepfunctions.parser.models.StepFunctionsParserBackend.send_task_failure"
FINGERPRINTS = {
    RESPONSE_HANDLER: "f0fed5e805768377c3886da87839f8dc3ea37bdaa5a64bab13da2784b5e00304",
}


def _responses() -> Any:
    from moto.stepfunctions import responses

    return responses


def problems() -> list[str]:
    """What stops the patch from being right for the installed moto; empty when nothing does."""
    found = patch_sources.changed(FINGERPRINTS, "rollgate_local.task_tokens")
    try:
        from moto.stepfunctions.parser.models import StepFunctionsParserBackend

        params = tuple(inspect.signature(StepFunctionsParserBackend.send_task_failure).parameters)
    except (ImportError, AttributeError) as error:
        found.append(f"{PARSER_BACKEND} is missing ({error!r})")
    else:
        if params[:4] != ("self", "task_token", "error", "cause"):
            found.append(f"{PARSER_BACKEND} has parameters {params}; the patch passes (task_token, error=, cause=)")
    return found


def install(patch: Callable[[Any, str, Any], None]) -> None:
    """Apply the patch through the bridge's `patch(owner, attr, replacement)` (which restores it on
    uninstall)."""
    responses = _responses()

    def send_task_failure(self: Any) -> Any:
        backend = self.stepfunction_backend
        arguments = {"error": self._get_param("error")}
        if "cause" in inspect.signature(backend.send_task_failure).parameters:
            arguments["cause"] = self._get_param("cause")  # the cause AWS would give the Catch
        backend.send_task_failure(self._get_param("taskToken"), **arguments)
        return responses.EmptyResult()

    patch(responses.StepFunctionResponse, "send_task_failure", send_task_failure)


if __name__ == "__main__":
    for name in FINGERPRINTS:
        print(f'    "{name}": "{patch_sources.fingerprint(name)}",')
