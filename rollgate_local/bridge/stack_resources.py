"""Stack resources (25): what CloudFormation describes for a stack the deployer registered.

    register_stack_resources(account, region, stack_name, resources: list[StackResource])
        StackResource(logical_resource_id, physical_resource_id, cf_resource_type)

Patches (what AWS does / what moto 5.2.5 does / what we change):

25. Stack resources (``CloudFormationBackend.list_stack_resources`` / ``describe_stack_resource`` /
    ``describe_stack_resources``). AWS describes each resource a stack created (logical id,
    physical id, type). The local deployer creates the resources itself and registers a stack
    holding only the outputs, so moto would describe one placeholder. For a stack given
    ``register_stack_resources`` we describe the resources the deployer created instead (status
    CREATE_COMPLETE; the template's resources not modelled locally are not listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollgate_local.bridge.core import _patch

_STACK_RESOURCES_ATTR = "_rollgate_resources"


@dataclass(frozen=True)
class StackResource:
    """A resource of a registered stack, with the attribute names moto's responses read."""

    logical_resource_id: str
    physical_resource_id: str
    cf_resource_type: str


def register_stack_resources(account: str, region: str, stack_name: str, resources: list[StackResource]) -> None:
    """Make CloudFormation describe `resources` as the resources of stack `stack_name` (25)."""
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[account][region].get_stack(stack_name)
    setattr(stack, _STACK_RESOURCES_ATTR, list(resources))


def install() -> None:
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import ValidationError

    original_list = models.CloudFormationBackend.list_stack_resources
    original_describe_one = models.CloudFormationBackend.describe_stack_resource
    original_describe = models.CloudFormationBackend.describe_stack_resources

    def list_stack_resources(self: Any, stack_name_or_id: str) -> Any:
        stack = self.get_stack(stack_name_or_id)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        return original_list(self, stack_name_or_id) if registered is None else (stack, registered)

    def describe_stack_resource(self: Any, stack_name: str, logical_resource_id: str) -> Any:
        stack = self.get_stack(stack_name)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        if registered is None:
            return original_describe_one(self, stack_name, logical_resource_id)
        for resource in registered:
            if resource.logical_resource_id == logical_resource_id:
                return stack, resource
        raise ValidationError(stack_name, f"Resource {logical_resource_id} does not exist for stack {stack_name}")

    def describe_stack_resources(self: Any, stack_name: str, logical_resource_id: Any) -> Any:  # None: all
        stack = self.get_stack(stack_name)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        if registered is None:
            return original_describe(self, stack_name, logical_resource_id)
        if logical_resource_id is None:
            return stack, registered
        return stack, [r for r in registered if r.logical_resource_id == logical_resource_id]

    _patch(models.CloudFormationBackend, "list_stack_resources", list_stack_resources)
    _patch(models.CloudFormationBackend, "describe_stack_resource", describe_stack_resource)
    _patch(models.CloudFormationBackend, "describe_stack_resources", describe_stack_resources)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.cloudformation.models.CloudFormationBackend.list_stack_resources": ("self", "stack_name_or_id"),
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resource": (
        "self",
        "stack_name",
        "logical_resource_id",
    ),
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resources": (
        "self",
        "stack_name",
        "logical_resource_id",
    ),
}
RELIED_ON: frozenset[str] = frozenset()
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.cloudformation.models.CloudFormationBackend.list_stack_resources":
        "49bd801307f90d4374df4aaa152fa65249d643f0f1077cc36c5739f3f606deca",
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resource":
        "2abd9d3a3bb56c9fca8b041650b36511aef25de88f709f955e38cb7ec0f3a90a",
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resources":
        "f4af301dba2d346180734c31a56fe9ddbf6beed2a5d1118ea69a747f97f86cba",
}
# fmt: on
