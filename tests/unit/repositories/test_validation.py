"""Repository argument checks and API-key token parsing, without a database."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from kubeweft.repositories import _validate
from kubeweft.repositories.apikeys import hash_secret, parse_token
from kubeweft.repositories.errors import ValidationError


def test_uid_must_be_a_canonical_uuid() -> None:
    uid = str(uuid.uuid4())
    assert _validate.uid(uid) == uid
    assert _validate.uid(uid.upper()) == uid
    for bad in ("", "   ", "web-1", uid.replace("-", ""), "{" + uid + "}"):
        with pytest.raises(ValidationError) as err:
            _validate.uid(bad)
        assert err.value.field == "uid"


def test_text_limits_name_the_field() -> None:
    assert _validate.text("x" * 10, "body", max_length=10) == "x" * 10
    with pytest.raises(ValidationError, match="body: is 11 characters long; the limit is 10"):
        _validate.text("x" * 11, "body", max_length=10)
    with pytest.raises(ValidationError, match="author: must not be empty"):
        _validate.text(" ", "author", max_length=10)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError, match="since"):
        _validate.aware(datetime(2026, 1, 1), "since")


def test_uids_are_deduplicated_in_order() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert _validate.uids([a, b, a]) == [a, b]


def test_token_parsing() -> None:
    assert parse_token("kw_abc123_sec_ret") == ("abc123", "sec_ret")
    for bad in ("", "kw_", "kw_abc", "xx_abc_secret", "kw__secret"):
        assert parse_token(bad) is None
    assert hash_secret("s") != hash_secret("t")
