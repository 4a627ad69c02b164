"""OpenID Connect: the issuer's discovery document, the authorization code flow with
PKCE, and the settings that turn it on (``KUBEWEFT_OIDC_*``).

The names and meanings of the settings are kube-apiserver's ``--oidc-*`` flags, so an
operator who has set up ``kubectl`` sign-in for a cluster sets up the dashboard with the
same values: the issuer's ID tokens are accepted as bearer tokens by the REST API (an
extra :class:`~kubeweft.auth.jwtbearer.JwtAuthenticator` in the chain, audience = the
client id) and a person signs in to the dashboard through the issuer's login page
(``ui.oidc``). Verifying an ID token is the JWT authenticator's job; this module only
speaks the protocol around it: discovery (``{issuer}/.well-known/openid-configuration``,
whose ``issuer`` must be the configured one, character for character), the
authorization request, and the code-for-token exchange at the token endpoint.

Nothing here talks to the issuer at start-up: a process whose identity provider is down
still starts and serves every other credential; the sign-in page says what failed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlencode, urlsplit

import anyio
import structlog

from kubeweft.runtime.clock import Clock, RealClock

if TYPE_CHECKING:  # imported where used: a process without OIDC never loads it
    import httpx

__all__ = [
    "LOOPBACK_HOSTS",
    "SIGNING_ALGORITHMS",
    "OidcClient",
    "OidcError",
    "ProviderMetadata",
    "code_challenge",
    "new_code_verifier",
    "url_problem",
]

log = structlog.get_logger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: What an issuer's published keys can verify (``--oidc-signing-algs``' choices).
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
#: ``client_secret_basic`` is the spec's default; ``client_secret_post`` if that is all
#: the issuer lists.
_POST = "client_secret_post"


class OidcError(Exception):
    """The issuer could not be reached or answered something unusable; the message says
    which address and what, for the person signing in and the log."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery says about the issuer (OpenID Connect Discovery 1.0, §3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an issuer or endpoint address, or None when it can.

    HTTPS only, as kube-apiserver requires of ``--oidc-issuer-url``; plain HTTP is
    accepted on a loopback host (a development or test issuer on this machine), where
    nobody on the network can read or change what passes.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return f"{url!r} is not an absolute URL"
    if parts.query or parts.fragment:
        return f"{url!r} has a query or fragment"
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return None
    return f"{url!r} must use https (plain http only on a loopback host)"


def new_code_verifier() -> str:
    """A PKCE code verifier: 43 characters of the URL-safe alphabet (RFC 7636, §4.1)."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """The ``S256`` challenge for ``verifier`` (RFC 7636, §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcClient:
    """One relying party (``client_id``) of one issuer."""

    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        client_secret_file: Path | None = None,
        scopes: tuple[str, ...] = ("openid",),
        ca_file: Path | None = None,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self._secret = client_secret
        self._secret_file = client_secret_file
        # "openid" makes it an OpenID Connect request; the rest as configured, in order.
        self.scopes = ("openid", *(s for s in scopes if s != "openid"))
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_file)) if ca_file else True
        )
        self._max_age = max_age
        self._timeout = timeout
        self._clock: Clock = clock or RealClock()
        self._transport = transport
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._lock = anyio.Lock()

    @property
    def display_name(self) -> str:
        """How the sign-in page names the issuer: its host (and port)."""
        return urlsplit(self.issuer).netloc

    def http(self) -> httpx.AsyncClient:
        import httpx  # at the first sign-in: a process without OIDC never loads it (≈ 5 MiB)

        return httpx.AsyncClient(
            timeout=self._timeout, transport=self._transport, verify=self._verify
        )

    async def metadata(self) -> ProviderMetadata:
        """The discovery document, fetched when never fetched or older than ``max_age``."""
        async with self._lock:
            fresh = self._metadata is not None and (
                self._clock.now() - self._fetched_at < self._max_age
            )
            if not fresh:
                self._metadata = await self._discover()
                self._fetched_at = self._clock.now()
        assert self._metadata is not None
        return self._metadata

    async def _discover(self) -> ProviderMetadata:
        url = self.issuer.rstrip("/") + DISCOVERY_PATH
        async with self.http() as http:
            document = await _json(http.get(url, headers={"Accept": "application/json"}), url)
        if document.get("issuer") != self.issuer:
            raise OidcError(
                f"{url}: names the issuer {document.get('issuer')!r}, not {self.issuer!r}"
                " (they must match exactly, trailing slash included)"
            )
        endpoints: dict[str, str] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str):
                raise OidcError(f"{url}: no {name}")
            if (problem := url_problem(value)) is not None:
                raise OidcError(f"{url}: {name} {problem}")
            endpoints[name] = value
        methods = document.get("token_endpoint_auth_methods_supported")
        log.info("oidc issuer discovered", issuer=self.issuer)
        return ProviderMetadata(
            issuer=self.issuer,
            **endpoints,
            token_endpoint_auth_methods=(
                tuple(m for m in methods if isinstance(m, str))
                if isinstance(methods, list)
                else ("client_secret_basic",)
            ),
        )

    def authorization_url(
        self,
        metadata: ProviderMetadata,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        verifier: str,
    ) -> str:
        """Where to send the browser to sign in (OpenID Connect Core, §3.1.2.1)."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        return f"{metadata.authorization_endpoint}{separator}{query}"

    async def exchange(self, code: str, *, redirect_uri: str, verifier: str) -> str:
        """Trade the authorization ``code`` for the ID token (§3.1.3); the token is not
        verified here."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        secret = self._client_secret()
        if secret is None:
            form["client_id"] = self.client_id  # a public client: PKCE is its proof
        elif metadata.token_endpoint_auth_methods == (_POST,):
            form |= {"client_id": self.client_id, "client_secret": secret}
        else:
            headers["Authorization"] = _basic(self.client_id, secret)
        url = metadata.token_endpoint
        async with self.http() as http:
            document = await _json(http.post(url, data=form, headers=headers), url)
        id_token = document.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError(f"{url}: the answer has no id_token")
        return id_token

    def _client_secret(self) -> str | None:
        # Read at each exchange: a mounted Secret that is rotated takes effect at once.
        if self._secret_file is not None:
            try:
                return self._secret_file.read_text().strip()
            except OSError as error:
                raise OidcError(f"client secret file {self._secret_file}: {error}") from error
        return self._secret


def _basic(client_id: str, secret: str) -> str:
    """``client_secret_basic``: both parts form-encoded first (RFC 6749, §2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


async def _json(pending: Any, url: str) -> dict[str, Any]:
    import httpx

    try:
        response: httpx.Response = await pending
    except httpx.HTTPError as error:
        raise OidcError(f"{url}: {type(error).__name__}: {error}") from error
    try:
        document = response.json()
    except ValueError:
        document = None
    if response.status_code >= 400:
        if isinstance(document, dict) and isinstance(document.get("error"), str):
            described = document.get("error_description")
            reason = document["error"] + (f" ({described})" if isinstance(described, str) else "")
        else:
            reason = f"HTTP {response.status_code}"
        raise OidcError(f"{url}: {reason}")
    if not isinstance(document, dict):
        raise OidcError(f"{url}: the answer is not a JSON object")
    return document
