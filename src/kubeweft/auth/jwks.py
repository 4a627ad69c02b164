"""The issuer's public keys (a JWKS), fetched over HTTPS, cached, refreshed on demand.

An identity provider rotates its signing keys: a token may arrive signed with a key
(``kid``) we have not seen yet. Then the key set is fetched again — but at most once per
``min_refresh_interval``, so a stream of tokens with made-up ``kid``s cannot turn us into
a load generator against the issuer. The JWKS address is configured directly or found
in the issuer's OpenID discovery document (``{issuer}/.well-known/openid-configuration``).
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import structlog

from kubeweft.runtime.clock import Clock, RealClock

__all__ = ["JwksError", "KeySetCache"]

log = structlog.get_logger(__name__)


class JwksError(Exception):
    """The key set could not be fetched or parsed."""


class KeySetCache:
    """The JSON Web Keys of one issuer, by ``kid``."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        max_age: float = 3600.0,
        min_refresh_interval: float = 30.0,
        timeout: float = 5.0,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not jwks_url and not issuer:
            raise ValueError("a JWKS URL or an OIDC issuer is needed")
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._timeout = timeout
        self._clock: Clock = clock or RealClock()
        self._transport = transport
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._generation = 0
        self._lock = anyio.Lock()
        self.fetches = 0

    async def keys(self) -> list[dict[str, Any]]:
        """The current keys, fetched first if never fetched or older than ``max_age``."""
        stale = self._fetched_at is None or self._clock.now() - self._fetched_at >= self._max_age
        if stale and not await self._refresh() and self._fetched_at is None:
            raise JwksError("key set not available (last fetch failed; retrying later)")
        return self._keys

    async def find(self, kid: str | None) -> dict[str, Any] | None:
        """The key named ``kid``; refetches once (rate-limited) when it is unknown."""
        key = self._lookup(await self.keys(), kid)
        if key is not None:
            return key
        if await self._refresh():
            return self._lookup(self._keys, kid)
        return None

    @staticmethod
    def _lookup(keys: list[dict[str, Any]], kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            # Without a kid only an unambiguous key set will do.
            return keys[0] if len(keys) == 1 else None
        return next((k for k in keys if k.get("kid") == kid), None)

    async def _refresh(self) -> bool:
        """Fetch the key set; ``False`` when rate-limited (an attempt was made too recently)."""
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                return True  # someone else fetched while we waited for the lock: use theirs
            now = self._clock.now()
            if (
                self._last_attempt is not None
                and now - self._last_attempt < self._min_refresh_interval
            ):
                return False
            self._last_attempt = now
            self._keys = await self._fetch()
            self._fetched_at = self._clock.now()
            self._generation += 1
            return True

    async def _fetch(self) -> list[dict[str, Any]]:
        self.fetches += 1
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as http:
            url = self._jwks_url or await self._discover(http)
            document = await self._get_json(http, url)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise JwksError(f"{url}: no 'keys' list")
        usable = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        log.info("jwks fetched", url=url, keys=len(usable))
        return usable

    async def _discover(self, http: httpx.AsyncClient) -> str:
        assert self._issuer is not None
        url = self._issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(http, url)
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise JwksError(f"{url}: no jwks_uri")
        return jwks_uri

    @staticmethod
    async def _get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
        try:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise JwksError(f"{url}: {error}") from error
        if not isinstance(document, dict):
            raise JwksError(f"{url}: not a JSON object")
        return document
