"""The REST layer: a FastAPI app factory, dependencies, one router per model generated
from the model's declaration, problem+json error handling, and the probe server.
"""

from kubeweft.rest.app import create_app
from kubeweft.rest.context import AppContext, KubeClient
from kubeweft.rest.development import AllowAllAuthorizer, DevelopmentAuthenticator
from kubeweft.rest.probes import Check, CheckResult, probe_app
from kubeweft.rest.problems import Problem
from kubeweft.rest.router import model_router
from kubeweft.rest.schemas import ModelSchemas, schemas_for

__all__ = [
    "AllowAllAuthorizer",
    "AppContext",
    "Check",
    "CheckResult",
    "DevelopmentAuthenticator",
    "KubeClient",
    "ModelSchemas",
    "Problem",
    "create_app",
    "model_router",
    "probe_app",
    "schemas_for",
]
