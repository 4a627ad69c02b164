"""Continue tokens over the cache."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeweft.views.errors import InvalidContinueToken
from kubeweft.views.pagination import (
    TOKEN_MAX_LENGTH,
    decode_token,
    encode_token,
    paginate,
    query_digest,
)

KEYS = [("b", "x"), ("a", "z"), ("a", "y"), ("c", "a")]


def identity(key: tuple[str, str]) -> tuple[str, str]:
    return key


def test_pages_cover_everything_once_in_namespace_name_order() -> None:
    digest = query_digest("webapps", None, None)
    seen, token = [], None
    while True:
        page = paginate(KEYS, identity, limit=3, continue_token=token, digest=digest)
        seen += page.items
        token = page.continue_token
        if token is None:
            break
    assert seen == sorted(KEYS)


def test_exact_fit_has_no_continue_token() -> None:
    page = paginate(KEYS, identity, limit=4, continue_token=None, digest="d")
    assert page.continue_token is None


def test_items_created_between_pages_do_not_shift_the_rest() -> None:
    digest = "d"
    first = paginate(KEYS, identity, limit=2, continue_token=None, digest=digest)
    grown = [*KEYS, ("a", "a")]  # sorts before the token: not repeated, not skipped
    second = paginate(grown, identity, limit=10, continue_token=first.continue_token, digest=digest)
    assert first.items + second.items == sorted(KEYS)


def test_token_round_trip_and_query_binding() -> None:
    token = encode_token(("ns", "name"), "q1")
    assert decode_token(token, "q1") == ("ns", "name")
    with pytest.raises(InvalidContinueToken, match="different query"):
        decode_token(token, "q2")


@pytest.mark.parametrize("token", ["", "!!!", "eyJ2IjoxfQ", encode_token(("a", "b"), "q")[:-3]])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidContinueToken):
        decode_token(token, "q")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("A" * 100_000, "longer than 1024"),
        ("A" * 1025, "longer than 1024"),
        ("@" * 1000, "malformed"),
        ("eyJ2IjoxfQ==", "malformed"),  # padding is not part of a token
        (base64.urlsafe_b64encode(b"[" * 760).decode().rstrip("="), "malformed"),
        (base64.urlsafe_b64encode(b'{"v":1,"q":"d","k":' + b"[" * 700).decode(), "malformed"),
        (base64.urlsafe_b64encode(b'{"v":1,"q":"d","k":["a",1]}').decode(), "malformed"),
    ],
)
def test_hostile_tokens_are_refused_before_or_while_decoding(token: str, message: str) -> None:
    with pytest.raises(InvalidContinueToken, match=message):
        decode_token(token, "d")


def test_the_longest_real_token_fits_the_cap() -> None:
    longest = encode_token(("n" * 63, "x" * 253), query_digest("webapps", "n" * 63, "a" * 1024))
    assert len(longest) < TOKEN_MAX_LENGTH
    assert decode_token(longest, query_digest("webapps", "n" * 63, "a" * 1024)) == (
        "n" * 63,
        "x" * 253,
    )


@given(st.text(max_size=2000))
def test_any_token_text_is_a_key_or_refused_as_invalid(token: str) -> None:
    try:
        key = decode_token(token, "d")
    except InvalidContinueToken:
        return  # anything else (a crash, another exception) fails the test
    assert len(key) == 2
    assert all(isinstance(part, str) for part in key)


NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-."  # namespaces and object names


@given(
    st.tuples(st.text(NAME_CHARS, max_size=63), st.text(NAME_CHARS, max_size=253)),
    st.text(max_size=12),
)
def test_every_issued_token_decodes_to_its_key(after: tuple[str, str], digest: str) -> None:
    assert decode_token(encode_token(after, digest), digest) == after
