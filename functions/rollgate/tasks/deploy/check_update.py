"""Task CheckUpdate: one poll of the Wait/CheckUpdate loop (gate 3).

The same convergence step as UpdateFunction (see rollgate.domain.deploy.update): it re-reads $LATEST,
reports InProgress, applies the next pending change, or answers Successful.
"""

from rollgate.tasks.deploy.update_function import lambda_handler

__all__ = ["lambda_handler"]
