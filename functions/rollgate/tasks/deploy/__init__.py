"""The DeployFunction workflow's task handlers, one module per task state."""
