"""The moto bridge under its first name: the public API of ``rollgate_local.bridge`` (the package,
split by service, that holds every patch of moto), re-exported so `from rollgate_local import
moto_bridge` keeps working. `python -m rollgate_local.moto_bridge` prints the source fingerprints,
as `python -m rollgate_local.bridge` does.
"""

from __future__ import annotations

from rollgate_local import bridge
from rollgate_local.bridge import *  # noqa: F403 (re-exporting the package's API is this module's purpose)

__all__ = list(bridge.__all__)

if __name__ == "__main__":
    bridge.print_fingerprints()
