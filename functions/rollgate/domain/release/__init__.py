"""The Release workflow: manifests, pushes, deployment windows and waves of child deployments."""
