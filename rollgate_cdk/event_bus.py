"""The Rollgate event bus: deployment outcome events, and release requests from any CI."""

from __future__ import annotations

from aws_cdk import aws_events as events
from constructs import Construct


class RollgateBus(Construct):
    """A custom EventBridge bus, so Rollgate's events and rules stay off the default bus."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description="Rollgate deployment and release events")
