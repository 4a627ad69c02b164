"""From ``Settings`` to the authenticator and authorizer the process holds.

The app context builds both once at start-up; configuration mistakes (a development
identity in production, a too-short HS256 secret, JWTs without an audience in
production) fail here, before any port opens, with one line naming the setting.
The JWT verifier (PyJWT, cryptography: ≈ 8 MiB of a process's memory) is imported only
when a setting asks for it.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from kubeweft.auth._client import ReviewClient
from kubeweft.auth.apikeys import ApiKeyAuthenticator
from kubeweft.auth.chain import ChainAuthenticator
from kubeweft.auth.development import DevelopmentAuthenticator
from kubeweft.auth.oidc import SIGNING_ALGORITHMS, OidcClient, url_problem
from kubeweft.auth.reviewbudget import ReviewBudget
from kubeweft.auth.subjectaccessreview import SubjectAccessReviewAuthorizer
from kubeweft.auth.tokenreview import KubernetesTokenAuthenticator
from kubeweft.db.engine import Database
from kubeweft.runtime.clock import Clock
from kubeweft.settings import Settings

if TYPE_CHECKING:
    from kubeweft.auth.jwtbearer import JwtAuthenticator

__all__ = [
    "AuthConfigurationError",
    "build_authenticator",
    "build_authorizer",
    "build_oidc_client",
]

# kube-apiserver's spelling for "no prefix" (``--oidc-username-prefix=-``).
NO_PREFIX = "-"


class AuthConfigurationError(ValueError):
    """A setting makes authentication unsafe or impossible; the message names it."""


def build_authenticator(
    settings: Settings,
    client: ReviewClient,
    database: Database | None,
    *,
    clock: Clock | None = None,
) -> ChainAuthenticator:
    """The authentication chain ``settings`` asks for (API keys need ``database``)."""
    jwt: JwtAuthenticator | None = None
    secret = settings.jwt_hs256_secret.get_secret_value() if settings.jwt_hs256_secret else None
    asymmetric = bool(settings.jwt_jwks_url or settings.jwt_issuer)
    if secret or asymmetric:
        from kubeweft.auth.jwks import KeySetCache
        from kubeweft.auth.jwtbearer import JwtAuthenticator

        if settings.mode == "production" and not settings.jwt_audience:
            raise AuthConfigurationError(
                "KUBEWEFT_JWT_AUDIENCE (jwt_audience) must be set in production mode when"
                " JWT authentication is on: without it a token minted for any other"
                " application of the same issuer is accepted"
            )
        key_set = (
            KeySetCache(jwks_url=settings.jwt_jwks_url, issuer=settings.jwt_issuer, clock=clock)
            if asymmetric
            else None
        )
        jwt = JwtAuthenticator(
            hs256_secret=secret,
            key_set=key_set,
            algorithms=settings.jwt_algorithms,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            user_claim=settings.jwt_user_claim,
            groups_claim=settings.jwt_groups_claim,
            username_prefix=_prefix(settings.jwt_username_prefix),
            groups_prefix=_prefix(settings.jwt_groups_prefix) or "",
        )
    kubernetes = (
        KubernetesTokenAuthenticator(
            client,
            ttl=settings.authz_cache_ttl_seconds,
            failure_ttl=settings.authz_deny_cache_ttl_seconds,
            audiences=settings.token_audiences,
            budget=ReviewBudget(
                concurrency=settings.token_review_concurrency,
                rate=settings.token_review_rate_per_second,
                burst=settings.token_review_burst,
                clock=clock,
            ),
            clock=clock,
        )
        if settings.kubernetes_token_auth
        else None
    )
    development = (
        DevelopmentAuthenticator(settings.dev_user, settings.dev_groups, mode=settings.mode)
        if settings.dev_user
        else None
    )
    return ChainAuthenticator(
        api_keys=ApiKeyAuthenticator(database) if database is not None else None,
        jwt=jwt,
        kubernetes=kubernetes,
        development=development,
        oidc=_oidc_authenticator(settings, clock),
    )


def build_oidc_client(settings: Settings) -> OidcClient | None:
    """The dashboard's relying party, when an OpenID Connect issuer is configured."""
    if not _check_oidc(settings):
        return None
    assert settings.oidc_issuer_url is not None
    assert settings.oidc_client_id is not None
    secret = settings.oidc_client_secret
    return OidcClient(
        issuer=settings.oidc_issuer_url,
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        client_secret_file=settings.oidc_client_secret_file,
        scopes=tuple(settings.oidc_scopes),
        ca_file=settings.oidc_ca_file,
    )


def _oidc_authenticator(settings: Settings, clock: Clock | None) -> JwtAuthenticator | None:
    """The issuer's ID tokens as bearer tokens, audience = the client id."""
    if not _check_oidc(settings):
        return None
    import httpx  # with OIDC only: ≈ 5 MiB resident (the Kubernetes client is httpx2)

    from kubeweft.auth.jwks import KeySetCache
    from kubeweft.auth.jwtbearer import JwtAuthenticator

    transport = (
        httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(ca_file)))
        if (ca_file := settings.oidc_ca_file)
        else None
    )
    return JwtAuthenticator(
        key_set=KeySetCache(issuer=settings.oidc_issuer_url, clock=clock, transport=transport),
        algorithms=settings.oidc_signing_algs,
        issuer=settings.oidc_issuer_url,
        audience=settings.oidc_client_id,
        user_claim=settings.oidc_username_claim,
        groups_claim=settings.oidc_groups_claim,
        username_prefix=_prefix(settings.oidc_username_prefix),
        groups_prefix=_prefix(settings.oidc_groups_prefix) or "",
        required_claims=settings.oidc_required_claims,
        method="oidc",
    )


def _check_oidc(settings: Settings) -> bool:
    """Whether OpenID Connect is configured; raises naming the setting that is wrong."""
    issuer = settings.oidc_issuer_url
    if issuer is None:
        return False
    if (problem := url_problem(issuer)) is not None:
        raise AuthConfigurationError(f"KUBEWEFT_OIDC_ISSUER_URL (oidc_issuer_url): {problem}")
    if not settings.oidc_client_id:
        raise AuthConfigurationError(
            "KUBEWEFT_OIDC_CLIENT_ID (oidc_client_id) must be set with"
            " KUBEWEFT_OIDC_ISSUER_URL: it is the audience ID tokens must be issued for"
        )
    if settings.oidc_client_secret is not None and settings.oidc_client_secret_file is not None:
        raise AuthConfigurationError(
            "KUBEWEFT_OIDC_CLIENT_SECRET and KUBEWEFT_OIDC_CLIENT_SECRET_FILE are both set; set one"
        )
    for name, path in (
        ("KUBEWEFT_OIDC_CLIENT_SECRET_FILE", settings.oidc_client_secret_file),
        ("KUBEWEFT_OIDC_CA_FILE", settings.oidc_ca_file),
    ):
        if path is not None and not path.is_file():
            raise AuthConfigurationError(f"{name}: {path} is not a readable file")
    if settings.oidc_redirect_url and (problem := url_problem(settings.oidc_redirect_url)):
        raise AuthConfigurationError(f"KUBEWEFT_OIDC_REDIRECT_URL (oidc_redirect_url): {problem}")
    if not settings.oidc_signing_algs or not set(settings.oidc_signing_algs) <= SIGNING_ALGORITHMS:
        raise AuthConfigurationError(
            "KUBEWEFT_OIDC_SIGNING_ALGS (oidc_signing_algs) must list algorithms an issuer's"
            f" published keys verify: {', '.join(sorted(SIGNING_ALGORITHMS))}"
        )
    if settings.jwt_issuer == issuer:
        raise AuthConfigurationError(
            "KUBEWEFT_JWT_ISSUER and KUBEWEFT_OIDC_ISSUER_URL name the same issuer;"
            " configure it once, as KUBEWEFT_OIDC_ISSUER_URL"
        )
    return True


def build_authorizer(
    settings: Settings, client: ReviewClient, *, clock: Clock | None = None
) -> SubjectAccessReviewAuthorizer:
    """SubjectAccessReview with the configured allow and deny cache TTLs."""
    return SubjectAccessReviewAuthorizer(
        client,
        allow_ttl=settings.authz_cache_ttl_seconds,
        deny_ttl=settings.authz_deny_cache_ttl_seconds,
        clock=clock,
    )


def _prefix(configured: str | None) -> str | None:
    """``None``: the default rule; ``"-"``: no prefix; anything else: itself."""
    return "" if configured == NO_PREFIX else configured
