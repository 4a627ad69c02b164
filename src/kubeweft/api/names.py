"""Kubernetes' name and label syntax, as patterns that every reader agrees on.

The same pattern text goes into the REST schemas (validated by pydantic's Rust engine and
read by clients' engines), the CRD (validated by the API server's RE2) and the tests'
request generators. Every pattern is *flat*: no quantifier applies to a group that holds
another quantifier, so a backtracking engine matches it in linear time too. A rule that
needs two nested repetitions — a DNS subdomain is dot-joined labels, each holding dash
runs — is split into flat patterns that must all match (``LABEL_KEY_PATTERNS``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubeweft.api.model import ModelInfo

__all__ = [
    "DNS1035_LABEL",
    "DNS1123_LABEL",
    "LABEL_KEY_MAX_LENGTH",
    "LABEL_KEY_PATTERNS",
    "LABEL_VALUE",
    "LABEL_VALUE_MAX_LENGTH",
    "NameRule",
    "is_label_key",
    "object_name_rule",
]

# A Service name, and so the name of any object a Service is named after.
DNS1035_LABEL = r"^([a-z]|[a-z][-a-z0-9]{0,61}[a-z0-9])$"
# A namespace name.
DNS1123_LABEL = r"^([a-z0-9]|[a-z0-9][-a-z0-9]{0,61}[a-z0-9])$"

# Label values: empty, or up to 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
LABEL_VALUE = r"^(|[A-Za-z0-9]|[A-Za-z0-9][-A-Za-z0-9_.]{0,61}[A-Za-z0-9])$"
LABEL_VALUE_MAX_LENGTH = 63

# Label keys: ``[prefix/]name``, the name as a label value (but not empty), the optional
# prefix a DNS subdomain of at most 253 characters.
_NAME = r"([A-Za-z0-9]|[A-Za-z0-9][-A-Za-z0-9_.]{0,61}[A-Za-z0-9])"
LABEL_KEY_PATTERNS = (
    # The name; a prefix of [-a-z0-9.] ending alphanumeric, each dot after an alphanumeric.
    rf"^({_NAME}|([a-z0-9]\.|[-a-z0-9])*[a-z0-9]/{_NAME})$",
    # The prefix starts alphanumeric and each dot is followed by an alphanumeric.
    r"^([^/]*$|[a-z0-9](\.[a-z0-9]|[-a-z0-9])*/)",
    # The prefix is at most 253 characters.
    r"^([^/]*$|[^/]{1,253}/)",
)
LABEL_KEY_MAX_LENGTH = 253 + 1 + 63

_LABEL_KEY = tuple(re.compile(pattern) for pattern in LABEL_KEY_PATTERNS)


def is_label_key(value: str) -> bool:
    """Whether Kubernetes accepts ``value`` as a label (or annotation) key."""
    return len(value) <= LABEL_KEY_MAX_LENGTH and all(p.match(value) for p in _LABEL_KEY)


@dataclass(frozen=True)
class NameRule:
    """A rule for a model's object names that is stricter than the API server's own."""

    pattern: str
    max_length: int
    description: str


def object_name_rule(info: ModelInfo) -> NameRule | None:
    """The name rule of a model's objects, when its children make it stricter.

    A controller names the objects it owns after their owner; a Service name must be an
    RFC 1035 label, so a model that owns Services must have RFC 1035 names, or its
    reconciler would fail on every create of the Service. None: the API server's own
    rule (an RFC 1123 subdomain) is the whole rule.
    """
    if ("v1", "services") in info.owns:
        return NameRule(
            DNS1035_LABEL,
            63,
            "An RFC 1035 label (lower-case alphanumerics and '-', starting with a letter, "
            "at most 63 characters): the name of the Service it owns.",
        )
    return None
