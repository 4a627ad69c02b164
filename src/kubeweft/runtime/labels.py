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

The selector comes from any caller of the API, so the parser is a hand-written scanner
that looks at each character a bounded number of times: its cost is linear in the
length of the input whatever the input is. (It replaced a regular expression whose
adjacent whitespace quantifiers backtracked: a 404-character selector took 3.8 s and
held the GIL all along.) The REST layer also caps the selector's length.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["InvalidSelector", "LabelSelector", "Requirement", "matches_labels"]

Operator = Literal["exists", "!exists", "=", "!=", "in", "notin"]

_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "_./-")  # values: no "/"
_SYMBOLS = frozenset("!=(),")
_QUOTED_MAX = 80  # an error message quotes at most this much of the requirement


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
    """The requirements: the text between commas that are outside parentheses."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(selector):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(selector[start:index])
            start = index + 1
    parts.append(selector[start:])
    return [part for part in parts if part and not part.isspace()]


def _tokens(text: str) -> list[str]:
    """Words (runs of key characters) and the symbols ``! != = == ( ) ,``; spaces dropped."""
    tokens: list[str] = []
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char.isspace():
            index += 1
        elif char in _KEY_CHARS:
            start = index
            while index < end and text[index] in _KEY_CHARS:
                index += 1
            tokens.append(text[start:index])
        elif char in "!=" and text.startswith("=", index + 1):
            tokens.append(char + "=")
            index += 2
        elif char in _SYMBOLS:
            tokens.append(char)
            index += 1
        else:
            raise InvalidSelector(
                f"unexpected {char!r} in label selector requirement {_quote(text)}"
            )
    return tokens


def _is_word(token: str) -> bool:
    return token[0] in _KEY_CHARS


def _is_value(token: str) -> bool:
    return _is_word(token) and "/" not in token


def _quote(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= _QUOTED_MAX else text[:_QUOTED_MAX] + "...")


def _parse_requirement(text: str) -> Requirement:
    tokens = _tokens(text)
    invalid = InvalidSelector(f"invalid label selector requirement {_quote(text)}")
    if tokens[0] == "!":
        if len(tokens) == 2 and _is_word(tokens[1]):
            return Requirement(tokens[1], "!exists")
        if len(tokens) > 2 and _is_word(tokens[1]):
            raise InvalidSelector(f"'!' takes a bare key, not {_quote(text)}")
        raise invalid
    if not _is_word(tokens[0]):
        raise invalid
    key, rest = tokens[0], tokens[1:]
    if not rest:
        return Requirement(key, "exists")
    op, operands = rest[0], rest[1:]
    if op in ("=", "==", "!="):
        if operands and operands[0] == "(":
            raise InvalidSelector(f"{op!r} takes one value, not a set, in {_quote(text)}")
        if len(operands) > 1 or (operands and not _is_value(operands[0])):
            raise invalid
        return Requirement(key, "!=" if op == "!=" else "=", frozenset(operands or [""]))
    if op not in ("in", "notin"):
        raise invalid
    if len(operands) < 2 or operands[0] != "(" or operands[-1] != ")":
        raise InvalidSelector(f"{op!r} needs a parenthesised set in {_quote(text)}")
    inside = operands[1:-1]  # value (, value)*
    values, commas = inside[0::2], inside[1::2]
    if len(values) != len(commas) + 1 or any(c != "," for c in commas):
        raise InvalidSelector(f"invalid value set in {_quote(text)}")
    if not all(_is_value(value) for value in values):
        raise InvalidSelector(f"invalid value set in {_quote(text)}")
    return Requirement(key, "in" if op == "in" else "notin", frozenset(values))
