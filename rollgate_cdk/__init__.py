"""Rollgate's CDK constructs. ``from rollgate_cdk import Rollgate`` adds Rollgate to a CDK app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rollgate_cdk.construct import Rollgate
    from rollgate_cdk.deploy_role import RollgateDeployRole

__all__ = ["Rollgate", "RollgateDeployRole"]


def __getattr__(name: str) -> Any:
    # imported on first use: `python -m rollgate_cdk.synth` must set jsii's environment before
    # anything loads aws_cdk, and importing the package runs this file first
    if name == "Rollgate":
        from rollgate_cdk.construct import Rollgate

        return Rollgate
    if name == "RollgateDeployRole":
        from rollgate_cdk.deploy_role import RollgateDeployRole

        return RollgateDeployRole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
