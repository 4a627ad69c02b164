"""Session cookies: sealed, bound to their CSRF token, useless when altered."""

from __future__ import annotations

from kubeweft.ui.session import Sessions


def sessions(key: str | None = "k" * 40, secure: bool = True) -> Sessions:
    return Sessions.new(key, max_age_seconds=3600, secure=secure)


def test_a_sealed_credential_opens_with_the_same_key_only() -> None:
    cookie = sessions().seal("kw_abc_secret")
    assert "kw_abc_secret" not in cookie
    assert sessions().open(cookie) == "kw_abc_secret"  # replicas sharing the key
    assert sessions("another key " * 4).open(cookie) is None
    assert sessions(None).open(cookie) is None  # a key made at start-up is its own


def test_an_altered_or_foreign_cookie_is_no_session() -> None:
    cookie = sessions().seal("token")
    flipped = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert sessions().open(flipped) is None
    assert sessions().open("not-a-cookie") is None


def test_the_csrf_token_belongs_to_one_cookie() -> None:
    s = sessions()
    one, two = s.seal("token"), s.seal("token")
    assert s.csrf_ok(one, s.csrf_token(one))
    assert not s.csrf_ok(two, s.csrf_token(one))
    assert not s.csrf_ok(one, None)
