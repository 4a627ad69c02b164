"""Reconcilers, one module per model (kubebuilder's ``internal/controller``).

A reconciler reads the cluster through the cache, writes the cluster through the
client, and only ever *writes* to the database (history, reconcile log, metrics).
"""

from kubeweft.examples.webapp.controllers.setup import (
    CONTROLLER_NAME,
    new_webapp_controller,
    setup_webapp_controller,
)
from kubeweft.examples.webapp.controllers.webapp import (
    WebAppReconciler,
    WebAppReconcilerOptions,
)

__all__ = [
    "CONTROLLER_NAME",
    "WebAppReconciler",
    "WebAppReconcilerOptions",
    "new_webapp_controller",
    "setup_webapp_controller",
]
