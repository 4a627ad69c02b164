"""WebApp: a web application served by a Deployment and a Service, laid out as a
kubebuilder project is (``api/v1`` and ``api/v1alpha1`` for the model, ``controllers`` for the
reconciler, ``app`` for the assembly) and built on kubeweft's public API alone.

``kubeweft run`` runs :data:`app` when no application is named.
"""

from kubeweft.examples.webapp.app import app

__all__ = ["app"]
