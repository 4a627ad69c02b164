"""All SQL lives here, one module per aggregate, behind functions keyed by resource UID,
time range or user. Repositories know nothing of HTTP or Kubernetes.

Import the aggregate module and call through it, so each call site says where it
lives: ``from kubeweft.repositories import history`` then ``history.history_for(...)``.
Every function takes an ``AsyncSession``; the caller owns the transaction (use
``unit_of_work`` for several writes that must land together).
"""

from kubeweft.repositories.errors import NotFoundError, RepositoryError, ValidationError
from kubeweft.repositories.unit_of_work import unit_of_work

__all__ = ["NotFoundError", "RepositoryError", "ValidationError", "unit_of_work"]
