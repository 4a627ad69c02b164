"""JWT bearer tokens: HS256 with a shared secret, RS/ES with the issuer's published keys.

The classic JWT mistakes all come from trusting the token's own header: ``alg: none``,
or an HS256 token "signed" with the issuer's *public* key, which a library then uses
as an HMAC secret. Here the header only *selects* among what configuration allows:

* HS256 is accepted only when a secret is configured, and is verified only with it;
* asymmetric algorithms must be listed in ``jwt_algorithms`` and are verified only with
  a key from the JWKS whose type matches (RSA for RS*/PS*, EC for ES*), never with an
  ``oct`` key and never with a key whose own ``alg`` says otherwise;
* PyJWT is always called with exactly one permitted algorithm.

``exp`` is required; ``nbf``, ``iss`` (when configured) and ``aud`` (when configured)
are checked. Users and groups come from configurable claims; names starting with
``system:`` are refused, as Kubernetes refuses them from OIDC, so an identity provider
cannot mint ``system:masters``.

Names are mapped as kube-apiserver maps OIDC names (``--oidc-username-prefix``,
``--oidc-groups-prefix``), so an identity provider's "alice" cannot collide with the
cluster's own user "alice": unless a username prefix is configured, a username that
is not an email address is prefixed with ``<issuer>#`` (``jwt#`` for a shared-secret
setup with no issuer). An ``email`` username is only taken when the token also says
``email_verified: true``: otherwise whoever controls an unverified address at the
identity provider would act as that address.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import structlog

from kubeweft.auth.identity import AuthenticationError, Identity
from kubeweft.auth.jwks import JwksError, KeySetCache

__all__ = ["JwtAuthenticator", "default_username_prefix", "looks_like_jwt"]

log = structlog.get_logger(__name__)

METHOD = "jwt"
HMAC_ALGORITHM = "HS256"
_KEY_TYPE_FOR_PREFIX = {"RS": "RSA", "PS": "RSA", "ES": "EC"}
_ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
_RESERVED_PREFIX = "system:"
EMAIL_CLAIM = "email"
# The username prefix when neither an issuer nor a prefix is configured (HS256 only).
DEFAULT_ISSUERLESS_PREFIX = "jwt#"
_INVALID = 'Bearer realm="kubeweft", error="invalid_token"'


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments whose first decodes to a JSON header with an ``alg``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return isinstance(header.get("alg"), str)


def _invalid(reason: str) -> AuthenticationError:
    return AuthenticationError(reason, challenge=_INVALID)


class JwtAuthenticator:
    """Verifies JWTs against configuration; ``claims`` decides when the chain asks it."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        key_set: KeySetCache | None = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        issuer: str | None = None,
        audience: str | None = None,
        user_claim: str = "sub",
        groups_claim: str | None = "groups",
        username_prefix: str | None = None,
        groups_prefix: str = "",
        required_claims: Mapping[str, str] | None = None,
        method: str = METHOD,
        leeway: float = 30.0,
    ) -> None:
        """``username_prefix=None`` applies kube-apiserver's default (see the module);
        ``""`` maps names unprefixed. ``groups_claim=None``: no groups from the token.
        ``required_claims``: claims the token must carry with exactly these values
        (``--oidc-required-claim``). ``method`` names the way in on the identity."""
        if hs256_secret is not None and len(hs256_secret.encode()) < 32:
            raise ValueError("the HS256 secret must be at least 32 bytes")
        self._secret = hs256_secret
        self._key_set = key_set
        self._asymmetric = [a for a in algorithms if a in _ASYMMETRIC] if key_set else []
        self._issuer = issuer
        self._audience = audience
        self._user_claim = user_claim
        self._groups_claim = groups_claim
        self.username_prefix = (
            username_prefix
            if username_prefix is not None
            else default_username_prefix(user_claim, issuer)
        )
        self.groups_prefix = groups_prefix
        self._required_claims = dict(required_claims or {})
        self._method = method
        self._leeway = leeway

    @property
    def accepted_algorithms(self) -> list[str]:
        return ([HMAC_ALGORITHM] if self._secret else []) + self._asymmetric

    def claims(self, token: str) -> bool:
        """Whether this token is ours to decide (else the next method may try it).

        With an issuer configured: JWTs naming that issuer (whatever their ``alg``, so a
        hostile token for our issuer is refused here rather than passed on). Without
        one: JWTs whose ``alg`` we are configured for.
        """
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, json.JSONDecodeError, UnicodeDecodeError):
            return False
        if self._issuer is not None:
            return payload.get("iss") == self._issuer
        return header.get("alg") in self.accepted_algorithms

    async def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise _invalid(f"malformed JWT: {error}") from error
        alg = header.get("alg")
        if alg not in self.accepted_algorithms:
            raise _invalid(f"JWT algorithm {alg!r} not accepted")
        key: Any = self._secret if alg == HMAC_ALGORITHM else await self._public_key(alg, header)
        required = ["exp"]
        if self._issuer is not None:
            required.append("iss")
        if self._audience is not None:
            required.append("aud")
        options: jwt.types.Options = {"require": required}
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options=options,
            )
        except jwt.PyJWTError as error:
            raise _invalid(f"JWT rejected: {type(error).__name__}: {error}") from error
        return self._identity(claims)

    async def _public_key(self, alg: str, header: Mapping[str, Any]) -> Any:
        assert self._key_set is not None  # alg is asymmetric only when a key set exists
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _invalid("JWT kid is not a string")
        try:
            jwk = await self._key_set.find(kid)
        except JwksError as error:
            log.warning("jwks unavailable", error=str(error))
            raise _invalid(f"signing keys unavailable: {error}") from error
        if jwk is None:
            raise _invalid(f"no signing key with kid {kid!r}")
        expected_type = _KEY_TYPE_FOR_PREFIX[alg[:2]]
        if jwk.get("kty") != expected_type:
            raise _invalid(f"key {kid!r} is {jwk.get('kty')!r}, token says {alg}")
        if "alg" in jwk and jwk["alg"] != alg:
            raise _invalid(f"key {kid!r} is for {jwk['alg']}, token says {alg}")
        try:
            return jwt.PyJWK(jwk, algorithm=alg).key
        except jwt.PyJWTError as error:
            raise _invalid(f"unusable key {kid!r}: {error}") from error

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        user = claims.get(self._user_claim)
        if not isinstance(user, str) or not user:
            raise _invalid(f"JWT has no string claim {self._user_claim!r}")
        for claim, value in self._required_claims.items():
            if claims.get(claim) != value:
                raise _invalid(f"JWT claim {claim!r} is not {value!r}")
        raw_groups = claims.get(self._groups_claim, []) if self._groups_claim else []
        if isinstance(raw_groups, str):
            raw_groups = [raw_groups]
        if not isinstance(raw_groups, list) or not all(isinstance(g, str) for g in raw_groups):
            raise _invalid(f"JWT claim {self._groups_claim!r} is not a list of strings")
        if self._user_claim == EMAIL_CLAIM and claims.get("email_verified") is not True:
            raise _invalid("JWT email is not verified (email_verified is not true)")
        user = self.username_prefix + user
        groups = tuple(self.groups_prefix + group for group in raw_groups)
        if any(name.startswith(_RESERVED_PREFIX) for name in (user, *groups)):
            raise _invalid("JWT asserts a reserved system: user or group")
        return Identity(user=user, groups=groups, method=self._method)


def default_username_prefix(user_claim: str, issuer: str | None) -> str:
    """kube-apiserver's rule: no prefix for ``email``, else ``<issuer>#``."""
    if user_claim == EMAIL_CLAIM:
        return ""
    return f"{issuer}#" if issuer else DEFAULT_ISSUERLESS_PREFIX
