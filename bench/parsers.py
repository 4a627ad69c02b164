"""Worst-case time of every parser of request input, on adversarial input of 1, 10, 100 KB.

    .venv/bin/python bench/parsers.py

For each parser, feeds families of hostile input (long whitespace runs, nested brackets,
repeated operators, the shape that made the old label-selector regex backtrack, ...) at
each size, and prints the slowest parse found (best of 3 runs per input, so one
scheduler hiccup is not reported as the parser's cost). Sizes past a parser's REST cap
are parsed directly, to show the cost is linear even where the cap would refuse them.
Then the old selector regex (kept below as the baseline) against the new parser on the
pathological ~400- and ~600-character selectors. Prints figures; asserts nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from kubeweft.rest.dependencies import DNS1123_SUBDOMAIN
from kubeweft.rest.middleware import _VALID_REQUEST_ID
from kubeweft.rest.routes.item import merge_patch, parse_if_match
from kubeweft.runtime.labels import LabelSelector
from kubeweft.views.pagination import decode_token

SIZES = [1024, 10 * 1024, 100 * 1024]
Family = Callable[[int], str]


def _fit(pattern: str, n: int, tail: str = "") -> str:
    return (pattern * (n // len(pattern) + 1))[: n - len(tail)] + tail


def _spaced(n: int, *words: str) -> str:
    """``words`` separated by equal runs of spaces, ``n`` characters in all."""
    gap = " " * max(1, (n - sum(map(len, words))) // max(1, len(words) - 1))
    return gap.join(words)


SELECTOR: dict[str, Family] = {
    "old backtracking shape": lambda n: _spaced(n, "a", "in", "!"),
    "spaces then a bad char": lambda n: "a in" + " " * (n - 5) + "!",
    "spaces around a set": lambda n: _spaced(n, "a", "in", "(x)"),
    "spaces around '!'": lambda n: _spaced(n, "", "!", "a="),
    "unclosed parentheses": lambda n: "a in " + "(" * (n - 5),
    "nested parentheses": lambda n: "a in " + "(" * (n // 2 - 3) + ")" * (n // 2 - 3),
    "repeated operators": lambda n: "a" + "=" * (n - 1),
    "repeated '!'": lambda n: "!" * (n - 1) + "a",
    "many requirements": lambda n: _fit("a,", n, "a"),
    "a large value set": lambda n: "a in (" + _fit("v,", n - 7, "v") + ")",
    "unicode whitespace": lambda n: "a" + "\u2003" * (n - 3) + "=b",
}


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


CONTINUE: dict[str, Family] = {
    "base64 alphabet": lambda n: "A" * n,
    "outside the alphabet": lambda n: "@" * n,
    "nested JSON arrays": lambda n: _b64("[" * (n * 3 // 4)),
    "nested JSON objects": lambda n: _b64(_fit('{"k":', n * 3 // 4)),
    "a long key": lambda n: _b64('{"v":1,"q":"d","k":["' + "a" * (n * 3 // 4) + '","b"]}'),
}

IF_MATCH: dict[str, Family] = {
    "whitespace": lambda n: " " * (n - 4) + '"1"',
    "commas": lambda n: '"1"' + "," * (n - 3),
    "quotes": lambda n: '"' * n,
    "weak prefixes": lambda n: _fit("W/", n),
}

TEXT: dict[str, Family] = {
    "digits": lambda n: "9" * n,
    "whitespace then junk": lambda n: "1" + " " * (n - 2) + "x",
    "dashes and dots": lambda n: _fit("a-.", n),
    "almost a name": lambda n: _fit("a-", n - 1, "-"),
    "colons": lambda n: _fit("2026-01-01T00:00:00", n),
}

JSON_BODY: dict[str, Family] = {
    "nested arrays": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "nested objects": lambda n: _fit('{"a":', n),
    "long string": lambda n: '"' + "a" * (n - 2) + '"',
    "many keys": lambda n: "{" + _fit('"k":1,', n - 8) + '"z":1}',
    "long number": lambda n: "9" * n,
}

_limit = TypeAdapter(Annotated[int, Field(ge=1, le=1000)])
_since = TypeAdapter(datetime)
_name = TypeAdapter(Annotated[str, Field(max_length=253, pattern=DNS1123_SUBDOMAIN)])


def _refused(parse: Callable[[str], Any]) -> Callable[[str], None]:
    def run(text: str) -> None:
        with contextlib.suppress(ValueError, RecursionError):  # most of these are refused
            parse(text)

    return run


def _json_body(text: str) -> None:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return
    merge_patch({}, body)


PARSERS: list[tuple[str, str, dict[str, Family], Callable[[str], None]]] = [
    ("labelSelector (runtime.labels)", "1 KB", SELECTOR, _refused(LabelSelector.parse)),
    (
        "continue token (views.pagination)",
        "1 KB",
        CONTINUE,
        _refused(lambda t: decode_token(t, "d")),
    ),
    ("If-Match (routes.item)", "256 B", IF_MATCH, _refused(parse_if_match)),
    ("limit (pydantic int)", "16 KB head", TEXT, _refused(lambda t: _limit.validate_python(t))),
    (
        "since (pydantic datetime)",
        "16 KB head",
        TEXT,
        _refused(lambda t: _since.validate_python(t)),
    ),
    (
        "path name (pydantic, Rust regex)",
        "253 B",
        TEXT,
        _refused(lambda t: _name.validate_python(t)),
    ),
    ("X-Request-ID (rest.middleware)", "16 KB head", TEXT, _refused(_VALID_REQUEST_ID.match)),
    ("JSON body + merge patch", "1 MiB", JSON_BODY, _json_body),
]


def best_of(parse: Callable[[str], None], text: str, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        parse(text)
        best = min(best, time.perf_counter() - start)
    return best


# --- the baseline: the selector regex this parser replaced ---------------------------------
_OLD_REQUIREMENT = re.compile(
    r"\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*))?\s*$"
)


def old_parse(selector: str) -> None:
    """The old parser's cost: its split, then the regex on each requirement."""
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
    for part in parts:
        if part.strip():
            _OLD_REQUIREMENT.match(part)


def main() -> None:
    print(
        f"{'parser':<36} {'REST cap':>10} "
        + " ".join(f"{s // 1024:>7} KB" for s in SIZES)
        + "   slowest family"
    )
    for label, cap, families, parse in PARSERS:
        worst: list[tuple[float, str]] = []
        for size in SIZES:
            worst.append(max((best_of(parse, make(size)), name) for name, make in families.items()))
        figures = " ".join(f"{seconds * 1e3:>7.2f}ms" for seconds, _ in worst)
        print(f"{label:<36} {cap:>10} {figures}   {worst[-1][1]}")

    print("\nold selector regex vs new parser, the backtracking shape 'a<spaces>in<spaces>!':")
    for size in (204, 404, 604):
        text = _spaced(size, "a", "in", "!")
        old = best_of(old_parse, text, runs=1)
        new = best_of(_refused(LabelSelector.parse), text)
        print(f"  {len(text):>4} chars: old {old:>9.3f} s   new {new * 1e6:>7.1f} µs")


if __name__ == "__main__":
    main()
