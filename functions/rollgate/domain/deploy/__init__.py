"""The DeployFunction workflow's gates, one module per gate (start, preflight, update, publish,
canary, rollback, outcome), its operator controls and its reconcile.
"""
