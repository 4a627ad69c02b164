"""kubeweft: Kubernetes models and their APIs in the kubebuilder pattern, in Python.

One process runs a controller runtime with controller-runtime's semantics
(:mod:`kubeweft.runtime`) and a FastAPI layer (:mod:`kubeweft.rest`) that joins the
cluster's state with application data kept in SQL (:mod:`kubeweft.db`). A project says
what that process serves with an :class:`App` (its models and their reconcilers) and
runs it with ``kubeweft run package.module:app``.
"""

# First: structlog is imported there without rich (kubeweft.logging says why).
from kubeweft import logging as _logging  # noqa: F401
from kubeweft.application import App, ControllerContext, ReconcilerFactory

__all__ = ["App", "ControllerContext", "ReconcilerFactory", "__version__"]

__version__ = "0.1.0"
