"""The ``Authenticator`` the REST layer holds: the configured methods, in order.

A credential is routed by its shape, and the first method that recognises it decides
(a refusal there is final: a hostile JWT for our issuer is not handed on to the next
method for a second opinion):

1. ``X-API-Key: …`` or ``Authorization: Bearer kw_<id>_<secret>`` → API keys;
2. another bearer token that the OpenID Connect issuer's authenticator claims (a JWT
   naming that issuer) → OIDC; else one that the JWT method claims (our issuer, or an
   algorithm we are configured for) → JWT;
3. any other bearer token → Kubernetes TokenReview;
4. no credentials at all → the development identity, when one is configured.

Every refusal is logged with its reason; the client only ever sees a 401 and a
``WWW-Authenticate`` challenge (the reason stays in ``AuthenticationError``'s message,
which the REST layer must not send).

An identity whose username is longer than the audit and history columns' bound
(``db.tables.ACTOR_LENGTH``, in UTF-8 bytes) is refused here: whatever such a caller did
could not be recorded under its name, and a request that cannot be audited is not served.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import structlog
from starlette.requests import HTTPConnection

from kubeweft.auth.apikeys import ApiKeyAuthenticator, looks_like_api_key
from kubeweft.auth.development import DevelopmentAuthenticator
from kubeweft.auth.identity import AuthenticationError, Identity
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator
from kubeweft.db.tables import ACTOR_LENGTH

if TYPE_CHECKING:  # PyJWT and cryptography load only when JWT or OIDC is configured
    from kubeweft.auth.jwtbearer import JwtAuthenticator

__all__ = ["ChainAuthenticator"]

log = structlog.get_logger(__name__)

API_KEY_HEADER = "x-api-key"
_INVALID = 'Bearer realm="kubeweft", error="invalid_token"'
_INVALID_REQUEST = 'Bearer realm="kubeweft", error="invalid_request"'
# What ``repositories.apikeys.create_api_key`` issues: 12 hex digits of id, then
# ``secrets.token_urlsafe(32)`` (43 characters).
_API_KEY_SHAPE = re.compile(r"kw_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


class ChainAuthenticator:
    def __init__(
        self,
        *,
        api_keys: ApiKeyAuthenticator | None = None,
        jwt: JwtAuthenticator | None = None,
        kubernetes: KubernetesTokenAuthenticator | None = None,
        development: DevelopmentAuthenticator | None = None,
        oidc: JwtAuthenticator | None = None,
    ) -> None:
        self.api_keys = api_keys
        self.jwt = jwt
        self.oidc = oidc
        self.kubernetes = kubernetes
        self.development = development

    async def authenticate(self, connection: HTTPConnection) -> Identity:
        try:
            identity = await self._authenticate(connection)
        except AuthenticationError as error:
            log.info(
                "authentication failed",
                reason=str(error),
                path=connection.url.path,
                client=connection.client.host if connection.client else None,
            )
            raise
        return identity

    async def _authenticate(self, connection: HTTPConnection) -> Identity:
        identity = await self._identify(connection)
        if len(identity.user.encode()) > ACTOR_LENGTH:
            raise AuthenticationError(
                f"username is {len(identity.user.encode())} bytes long; at most {ACTOR_LENGTH}"
                " can be recorded",
                challenge=_INVALID,
            )
        return identity

    async def _identify(self, connection: HTTPConnection) -> Identity:
        api_key = connection.headers.get(API_KEY_HEADER)
        authorization = connection.headers.get("authorization")
        if api_key is not None:
            if authorization is not None:
                raise AuthenticationError(
                    "both X-API-Key and Authorization sent", challenge=_INVALID_REQUEST
                )
            return await self._api_key(api_key.strip())
        if authorization is None:
            if self.development is not None:
                return await self.development.verify()
            raise AuthenticationError("no credentials")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError(
                f"unsupported authorization scheme {scheme!r}", challenge=_INVALID_REQUEST
            )
        if looks_like_api_key(token):
            return await self._api_key(token)
        for bearer in (self.oidc, self.jwt):
            if bearer is not None and bearer.claims(token):
                return await bearer.verify(token)
        if self.kubernetes is not None:
            return await self.kubernetes.verify(token)
        raise AuthenticationError("bearer token not recognised by any method", challenge=_INVALID)

    async def _api_key(self, token: str) -> Identity:
        if self.api_keys is None:
            raise AuthenticationError("API keys are not enabled", challenge=_INVALID)
        if not _API_KEY_SHAPE.fullmatch(token):
            # Refused before any database lookup: a made-up key of any other shape or
            # length costs nothing but this match.
            raise AuthenticationError("malformed API key", challenge=_INVALID)
        return await self.api_keys.verify(token)
