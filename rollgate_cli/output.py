"""`--output text|json`: one result, two renderings.

In text mode everything a command says goes to stdout, for a person. In json mode the lines for a
person (gates as they pass, "started …") go to stderr and stdout carries exactly one JSON document,
written when the command ends, whatever happened: a script can always parse it. Every document has
`command`, `exit_code` and `error` (null, or `{"name", "message"}` when the command itself failed:
bad usage, AWS unreachable); the rest of each shape is listed in the README ("JSON output").

`Output` is itself the text stream commands print to (stdout in text mode, stderr in json mode), so
a command that knows nothing of json mode still keeps stdout clean; one that does hands its
document to `report`.
"""

from __future__ import annotations

import argparse
import io
import json
from datetime import date, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")


def add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        choices=FORMATS,
        default="text",
        help="text for people (default), or json: one JSON document on stdout, progress on stderr",
    )


class Output(io.TextIOBase, TextIO):  # a TextIO to the commands it is handed to (print(file=out))
    """Where a command's words go: print to it for people; `report` the document for scripts."""

    def __init__(self, *, json_mode: bool, stdout: TextIO, stderr: TextIO) -> None:
        super().__init__()
        self.json_mode = json_mode
        self.stdout = stdout
        self.stderr = stderr
        self.document: dict[str, Any] = {}

    @property
    def progress(self) -> TextIO:
        return self.stderr if self.json_mode else self.stdout

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.progress.write(text)

    def flush(self) -> None:
        self.progress.flush()

    def close(self) -> None:
        """The streams are the caller's: closing (as the garbage collector does) leaves them be."""

    def finish(self, command: str | None, exit_code: int, error: BaseException | None = None) -> None:
        """In json mode, the one document: what the command reported, with its exit code."""
        if not self.json_mode:
            return
        document = {"command": command, **self.document, "exit_code": exit_code, "error": None}
        if error is not None:
            document["error"] = {"name": type(error).__name__, "message": str(error)}
        self.stdout.write(json.dumps(document, indent=2, default=_jsonable) + "\n")
        self.stdout.flush()


def _jsonable(value: Any) -> str:
    """Times as ISO 8601 (as the ledger and the events write them); anything else as its text."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def wants_json(out: TextIO) -> bool:
    return isinstance(out, Output) and out.json_mode


def report(out: TextIO, document: dict[str, Any]) -> None:
    """Hand the command's result to json mode (a no-op for a plain stream)."""
    if isinstance(out, Output):
        out.document.update(document)
