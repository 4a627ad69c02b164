"""Pagination over the informer cache with opaque ``continue`` tokens.

The cache has no server-side cursor, so a page is "the ``limit`` items after key K" in
a stable order (namespace, then name). The token carries K and a digest of the query
it belongs to; a token reused with another namespace or selector is refused rather
than silently giving a wrong page. Objects created or deleted between pages shift no
other item, which is the same guarantee (none stronger) the API server's own
``continue`` gives once its snapshot has expired.

A token comes back from the caller, so it is checked before it is decoded: at most
``TOKEN_MAX_LENGTH`` characters of the URL-safe base64 alphabet (a real token is under
half that: the key is a namespace and a name), and any decoding failure, nesting too
deep included, is an ``InvalidContinueToken``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from kubeweft.views.errors import InvalidContinueToken

__all__ = ["TOKEN_MAX_LENGTH", "Page", "decode_token", "encode_token", "paginate", "query_digest"]

T = TypeVar("T")

_VERSION = 1
TOKEN_MAX_LENGTH = 1024
_TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    continue_token: str | None


def query_digest(plural: str, namespace: str | None, label_selector: str | None) -> str:
    raw = json.dumps([plural, namespace or "", label_selector or ""])
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode_token(after: tuple[str, str], digest: str) -> str:
    raw = json.dumps({"v": _VERSION, "q": digest, "k": list(after)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, digest: str) -> tuple[str, str]:
    if len(token) > TOKEN_MAX_LENGTH:
        raise InvalidContinueToken(
            f"The continue token is longer than {TOKEN_MAX_LENGTH} characters."
        )
    if not _TOKEN_ALPHABET.issuperset(token):
        raise InvalidContinueToken("The continue token is malformed.")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = data["k"]
        valid = (
            data.get("v") == _VERSION
            and isinstance(key, list)
            and len(key) == 2
            and all(isinstance(part, str) for part in key)
        )
    except (ValueError, KeyError, TypeError, RecursionError):
        valid = False
    if not valid:
        raise InvalidContinueToken("The continue token is malformed.")
    if data.get("q") != digest:
        raise InvalidContinueToken(
            "The continue token belongs to a different query (namespace or labelSelector)."
        )
    return (key[0], key[1])


def paginate(
    items: Sequence[T],
    key: Callable[[T], tuple[str, str]],
    *,
    limit: int | None,
    continue_token: str | None,
    digest: str,
) -> Page[T]:
    """One page of ``items`` ordered by ``key``, starting after the token's key."""
    ordered = sorted(items, key=key)
    if continue_token:
        after = decode_token(continue_token, digest)
        ordered = [item for item in ordered if key(item) > after]
    if limit is None or len(ordered) <= limit:
        return Page(list(ordered), None)
    page = list(ordered[:limit])
    return Page(page, encode_token(key(page[-1]), digest))
