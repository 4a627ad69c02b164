"""kubeweft: Kubernetes models and their APIs in the kubebuilder pattern, in Python.

One process runs a controller runtime with controller-runtime's semantics
(:mod:`kubeweft.runtime`) and a FastAPI layer (:mod:`kubeweft.rest`) that joins the
cluster's state with application data kept in SQL (:mod:`kubeweft.db`).
"""

__version__ = "0.1.0"
