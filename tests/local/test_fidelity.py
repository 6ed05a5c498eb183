"""Where the local runtime used to differ from AWS in ways a real client hit, and the process-level
safety of the data plane (handler output captured without swapping the process's streams)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from local.runtime import LocalRuntime
from tests.local.conftest import make_function

REPO = Path(__file__).resolve().parents[2]

PRINTING_HANDLER = textwrap.dedent("""
    import logging
    import sys

    stream_logger = logging.getLogger("printing-handler")
    stream_logger.addHandler(logging.StreamHandler(sys.stdout))  # like Powertools: made at import
    stream_logger.propagate = False
    stream_logger.setLevel(logging.INFO)

    def handler(event, context):
        print(f"handler out {event['n']}")
        print(f"handler err {event['n']}", file=sys.stderr)
        sys.stdout.write(f"handler write {event['n']}\\n")
        stream_logger.info("handler logged %s", event["n"])
        return {"n": event["n"]}
""")

# Runs in a child process so that a crash (the old per-invocation stream swap segfaulted) is a
# failed assertion naming the signal, not a dead test session.
PRINT_STORM = textwrap.dedent("""
    import json, sys, threading
    from local.runtime import LocalRuntime
    from tests.local.conftest import make_function

    handler_source, summary_path = sys.argv[1], sys.argv[2]
    with LocalRuntime(seed=7) as runtime:
        make_function(runtime, "printer", {"app.py": handler_source}, "app.handler")
        stop = threading.Event()

        def print_outside_invocations(index):
            line = 0
            while not stop.is_set():
                print(f"bystander {index} line {line}")
                print(f"bystander {index} err {line}", file=sys.stderr)
                line += 1

        def invoke(offset):
            for n in range(offset, offset + 2000):
                assert runtime.data_plane.invoke("printer", None, {"n": n}).json() == {"n": n}

        bystanders = [threading.Thread(target=print_outside_invocations, args=(i,)) for i in range(3)]
        invokers = [threading.Thread(target=invoke, args=(i * 10000,)) for i in range(3)]
        for thread in bystanders + invokers:
            thread.start()
        for thread in invokers:
            thread.join()
        stop.set()
        for thread in bystanders:
            thread.join()
        logs = runtime.data_plane.logs("printer")
        stdout_name = sys.stdout.name
    with open(summary_path, "w") as summary:
        json.dump({"logs": logs, "stdout_name": stdout_name}, summary)
""")


def test_printing_on_many_threads_while_handlers_run_keeps_the_process_alive_and_output_in_the_log(
        tmp_path: Path) -> None:
    # given a function whose handler prints, writes to stderr and logs through a StreamHandler,
    # invoked from three threads while three other threads print outside any invocation
    summary = tmp_path / "summary.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "functions"), str(REPO)])}
    # when it runs in its own process
    child = subprocess.run([sys.executable, "-c", PRINT_STORM, PRINTING_HANDLER, str(summary)], cwd=REPO,
                           env=env, capture_output=True, text=True, errors="replace", timeout=600,
                           check=False)
    # then the process survives (no segfault, no AttributeError on the stream)
    assert child.returncode == 0, f"exit {child.returncode}:\n{child.stderr[-3000:]}"
    result = json.loads(summary.read_text())
    # the stream keeps the TextIO surface of the one it forwards to
    assert result["stdout_name"] == "<stdout>"
    # each invocation's output is in its own log entry, and nothing from the bystanders is
    logs = result["logs"]
    assert logs, "no log entries"
    for entry in logs:
        n = entry.split("handler out ")[1].split("\n")[0]
        for line in (f"handler out {n}", f"handler err {n}", f"handler write {n}", f"handler logged {n}"):
            assert f"\n{line}\n" in entry, (line, entry)
        assert "bystander" not in entry
    # and the bystanders' output reached the process's real streams, the handlers' did not
    # (print writes the text and its newline separately, so lines of different threads interleave)
    assert "bystander 0 line 0" in child.stdout and "bystander 2 err 0" in child.stderr
    assert "handler out" not in child.stdout and "handler err" not in child.stderr


def test_a_handlers_print_lands_in_its_log_whoever_holds_sys_stdout() -> None:
    # given a runtime, and then a stream put into sys.stdout after it started (pytest's capture
    # does this between test phases)
    with LocalRuntime(seed=7) as runtime:
        make_function(runtime, "printer", {"app.py": PRINTING_HANDLER}, "app.handler")
        original = sys.stdout
        sys.stdout = io.StringIO()
        try:
            # when the handler prints
            assert runtime.data_plane.invoke("printer", None, {"n": 1}).json() == {"n": 1}
        finally:
            replaced, sys.stdout = sys.stdout, original
        # then its print is in the function's log, not in that stream
        (entry,) = runtime.data_plane.logs("printer")
        assert "\nhandler out 1\n" in entry and "\nhandler err 1\n" in entry
        assert "handler out" not in replaced.getvalue()
