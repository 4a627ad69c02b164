"""Who is calling and what they may do: API keys, JWTs, OpenID Connect ID tokens and
Kubernetes tokens for authentication; Kubernetes RBAC through SubjectAccessReview for
authorization.

The REST layer holds one :class:`Authenticator` and one :class:`Authorizer`, built from
settings by :func:`build_authenticator` and :func:`build_authorizer`; it maps
:class:`AuthenticationError` to 401, a denied :class:`Decision` to 403 and
:class:`ReviewUnavailable` to 503.
"""

from kubeweft.auth.attributes import Operation, attributes_for, describe
from kubeweft.auth.chain import ChainAuthenticator
from kubeweft.auth.config import build_authenticator, build_authorizer
from kubeweft.auth.identity import (
    AuthenticationError,
    Authenticator,
    Authorizer,
    Decision,
    Identity,
    ResourceAttributes,
    ReviewUnavailable,
)
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "Authorizer",
    "ChainAuthenticator",
    "Decision",
    "Identity",
    "Operation",
    "ResourceAttributes",
    "ReviewUnavailable",
    "SubjectAccessReviewAuthorizer",
    "attributes_for",
    "build_authenticator",
    "build_authorizer",
    "describe",
]
