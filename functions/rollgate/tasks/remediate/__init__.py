"""The Remediate workflow's task handlers, one module per task state."""
