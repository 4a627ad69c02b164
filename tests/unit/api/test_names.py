"""The flat name and label patterns say exactly what Kubernetes says, and stay flat."""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeweft.api import names
from kubeweft.examples.webapp.api.v1 import WebApp

# Kubernetes' own expressions (k8s.io/apimachinery/pkg/util/validation), nested as
# written there: the reference the flat patterns must agree with.
K8S_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
K8S_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
K8S_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def kubernetes_accepts_key(key: str) -> bool:
    prefix, slash, name = key.rpartition("/")
    if slash and not (
        prefix and len(prefix) <= 253 and K8S_SUBDOMAIN.fullmatch(prefix) and "/" not in prefix
    ):
        return False
    return 0 < len(name) <= 63 and bool(K8S_QUALIFIED_NAME.fullmatch(name))


KEYS = [
    ("app", True),
    ("app.kubernetes.io/name", True),
    ("xn--bcher-kva.example/a_b.c-d", True),
    ("a..b", True),  # dots may repeat in the name part
    ("a" * 253 + "/x", True),
    ("a" * 254 + "/x", False),
    ("x/" + "n" * 63, True),
    ("x/" + "n" * 64, False),
    ("a..b/c", False),
    ("a.-b/c", False),
    ("a-.b/c", False),
    (".a/b", False),
    ("a./b", False),
    ("-a/b", False),
    ("a-/b", False),
    ("A/b", False),
    ("/b", False),
    ("a/", False),
    ("a/b/c", False),
    ("-a", False),
    ("", False),
]


@pytest.mark.parametrize(("key", "valid"), KEYS, ids=[k[:24] or "empty" for k, _ in KEYS])
def test_label_keys_are_what_kubernetes_accepts(key: str, valid: bool) -> None:
    assert kubernetes_accepts_key(key) is valid
    assert names.is_label_key(key) is valid


@given(st.text(alphabet="aZ0-._/", max_size=12))
def test_label_key_patterns_agree_with_kubernetes(key: str) -> None:
    assert names.is_label_key(key) is kubernetes_accepts_key(key)


@given(st.text(alphabet="aZ0-._", max_size=70))
def test_label_value_pattern_agrees_with_kubernetes(value: str) -> None:
    expected = value == "" or (len(value) <= 63 and bool(K8S_QUALIFIED_NAME.fullmatch(value)))
    assert bool(re.match(names.LABEL_VALUE, value)) is expected


@given(st.text(alphabet="az09-.", max_size=70))
def test_dns1035_pattern_agrees_with_kubernetes(value: str) -> None:
    expected = len(value) <= 63 and bool(K8S_DNS1035.fullmatch(value))
    assert bool(re.match(names.DNS1035_LABEL, value)) is expected


def _repeats_nest(tree: Any, inside: bool = False) -> bool:
    """Whether a quantifier in the parsed pattern applies to something holding another."""
    for op, arg in tree:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            if inside or _repeats_nest(arg[2], inside=True):
                return True
        elif op is sre_constants.SUBPATTERN:
            if _repeats_nest(arg[-1], inside):
                return True
        elif op is sre_constants.BRANCH and any(_repeats_nest(b, inside) for b in arg[1]):
            return True
    return False


@pytest.mark.parametrize(
    "pattern",
    [*names.LABEL_KEY_PATTERNS, names.LABEL_VALUE, names.DNS1035_LABEL, names.DNS1123_LABEL],
)
def test_patterns_have_no_nested_quantifiers(pattern: str) -> None:
    assert not _repeats_nest(sre_parse.parse(pattern))


def test_the_nested_form_is_caught() -> None:
    assert _repeats_nest(sre_parse.parse(K8S_SUBDOMAIN.pattern))
    assert _repeats_nest(sre_parse.parse(r"(a?b*)?"))


def test_a_model_that_owns_services_gets_service_names() -> None:
    rule = names.object_name_rule(WebApp.model_info)
    assert rule is not None
    assert rule.pattern == names.DNS1035_LABEL
    assert rule.max_length == 63
