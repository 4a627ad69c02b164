"""Label selectors, parsed once and matched against many objects (apimachinery's ``labels``).

A list served from the cache tests every cached object against the caller's selector;
parsing the selector string once per object would make a 1,000-item list parse it
1,000 times, and would let a malformed selector through whenever the cache happens to
be empty. ``LabelSelector.parse`` validates the whole string up front and raises
``InvalidSelector`` (a ``ValueError``) naming the requirement at fault, so the REST
layer can answer 400 for exactly that error and nothing else.

Grammar (Kubernetes' string form): requirements separated by commas, each one of
``key``, ``!key``, ``key=value``, ``key==value``, ``key!=value``,
``key in (v1, v2)``, ``key notin (v1, v2)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["InvalidSelector", "LabelSelector", "Requirement", "matches_labels"]

Operator = Literal["exists", "!exists", "=", "!=", "in", "notin"]

_REQUIREMENT = re.compile(
    r"\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*))?\s*$"
)
_VALUE = re.compile(r"[A-Za-z0-9_.-]*")


class InvalidSelector(ValueError):
    """A label selector that does not parse; the message names the requirement."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        match self.operator:
            case "exists":
                return present
            case "!exists":
                return not present
            case "=" | "in":  # "=" is "in" a set of one
                return present and labels[self.key] in self.values
            case "!=" | "notin":
                return not present or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of requirements; the empty selector matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        return cls(tuple(_parse_requirement(part) for part in _split_requirements(text)))

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> LabelSelector:
        return cls(tuple(Requirement(k, "=", frozenset({v})) for k, v in labels.items()))

    @classmethod
    def of(cls, selector: str | Mapping[str, str] | None) -> LabelSelector:
        """A selector in either of the client's forms (None: match all)."""
        if selector is None:
            return cls()
        if isinstance(selector, str):
            return cls.parse(selector)
        return cls.from_labels(selector)

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)

    def __bool__(self) -> bool:
        return bool(self.requirements)


def matches_labels(selector: str | Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy ``selector`` (parsed here: for one-off checks)."""
    return LabelSelector.of(selector).matches(labels)


def _split_requirements(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _parse_requirement(text: str) -> Requirement:
    match = _REQUIREMENT.match(text)
    if match is None:
        raise InvalidSelector(f"invalid label selector requirement {text.strip()!r}")
    key, op, value = match["key"], (match["op"] or "").strip(), match["value"] or ""
    if match["neg"]:
        if op:
            raise InvalidSelector(f"'!' takes a bare key, not {text.strip()!r}")
        return Requirement(key, "!exists")
    if not op:
        return Requirement(key, "exists")
    if op in ("in", "notin"):
        if not (value.startswith("(") and value.endswith(")")):
            raise InvalidSelector(f"{op!r} needs a parenthesised set in {text.strip()!r}")
        values = frozenset(v.strip() for v in value[1:-1].split(","))
        if "" in values or any(_VALUE.fullmatch(v) is None for v in values):
            raise InvalidSelector(f"invalid value set in {text.strip()!r}")
        return Requirement(key, "in" if op == "in" else "notin", values)
    if value.startswith("("):
        raise InvalidSelector(f"{op!r} takes one value, not a set, in {text.strip()!r}")
    return Requirement(key, "=" if op in ("=", "==") else "!=", frozenset({value}))
