"""The guard every patch of moto keeps: the sha256 of the moto source it was written against.

A patch replaces a moto function it has read; when a moto upgrade changes that function, the
patch must be read again before it is kept. Each patching module lists its targets with the
fingerprint of their source (`FINGERPRINTS`), and its test fails naming the target that moved.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from typing import Any


def resolve(dotted: str) -> Any:
    """Import `a.b.c.Class.attr` (the module part found by trying the longest importable prefix)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def fingerprint(dotted: str) -> str:
    """sha256 of the source of the original (unpatched) callable at `dotted`."""
    target = resolve(dotted)
    target = getattr(target, "_rollgate_original", target)
    return hashlib.sha256(inspect.getsource(target).encode()).hexdigest()


def changed(fingerprints: dict[str, str], patcher: str) -> list[str]:
    """The targets whose source is not the one `patcher` (a module name, for the message) was
    written against, or cannot be read; empty when every one is as expected."""
    found = []
    for dotted, expected in fingerprints.items():
        try:
            actual = fingerprint(dotted)
        except (ImportError, AttributeError, OSError, TypeError) as error:
            found.append(f"{dotted} is missing ({error!r}): moto moved it")
            continue
        if actual != expected:
            found.append(f"{dotted} changed (sha256 {actual}): re-read it before keeping {patcher}'s patch")
    return found
