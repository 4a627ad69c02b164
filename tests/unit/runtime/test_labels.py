"""Label selectors: Kubernetes' string grammar, parsed once, matched against labels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubeweft.runtime.labels import InvalidSelector, LabelSelector, Requirement, matches_labels

LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web,tier=front", True),
        ("app!=web", False),
        ("missing!=web", True),
        ("tier", True),
        ("!tier", False),
        ("!missing", True),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("missing in (x)", False),
        ("missing notin (x)", True),
        ("app in (api),tier", False),
        ("", True),
        ({"app": "web"}, True),
        ({"app": "api"}, False),
        (None, True),
    ],
)
def test_matches(selector: str | dict[str, str] | None, expected: bool) -> None:
    assert matches_labels(selector, LABELS) is expected


def test_parse_builds_requirements() -> None:
    parsed = LabelSelector.parse("app in (web, api), !legacy, tier")
    assert parsed.requirements == (
        Requirement("app", "in", frozenset({"web", "api"})),
        Requirement("legacy", "!exists"),
        Requirement("tier", "exists"),
    )
    assert not LabelSelector.parse(" , ")  # no requirement: matches everything


@pytest.mark.parametrize(
    "selector",
    ["app=(web)", "app in web", "app in ()", "app in (web,)", "!app=web", "a b", "app=we b"],
)
def test_malformed_selectors_are_refused_naming_the_requirement(selector: str) -> None:
    with pytest.raises(InvalidSelector) as refused:
        LabelSelector.parse(selector)
    assert isinstance(refused.value, ValueError)
    assert selector.split(",")[0].split()[0].lstrip("!") in str(refused.value)


@pytest.mark.parametrize(
    ("selector", "parsed"),
    [
        ("a in(x)", Requirement("a", "in", frozenset({"x"}))),  # no space needed before "("
        ("a  notin  ( x ,y )", Requirement("a", "notin", frozenset({"x", "y"}))),
        ("a=", Requirement("a", "=", frozenset({""}))),
        ("example.com/app != web", Requirement("example.com/app", "!=", frozenset({"web"}))),
        ("! a", Requirement("a", "!exists")),
    ],
)
def test_spacing_and_forms(selector: str, parsed: Requirement) -> None:
    assert LabelSelector.parse(selector).requirements == (parsed,)


# --- hostile input -----------------------------------------------------------------------
# A selector comes from any API caller. These feed the parser what made the old regular
# expression backtrack (long whitespace runs between tokens that end in a bad character)
# and other adversarial shapes, up to 100 KB, and check the answer; a parser that is not
# linear would not finish them within the test timeout.

KEYS = st.from_regex(r"[a-z][a-z0-9._-]{0,10}(/[a-z][a-z0-9]{0,5})?", fullmatch=True)
VALUES = st.from_regex(r"[A-Za-z0-9_.-]{1,8}", fullmatch=True)
SPACE = st.text(alphabet=" \t\n", max_size=40)


@st.composite
def requirements(draw: st.DrawFn) -> tuple[str, Requirement]:
    """A requirement's text, padded with arbitrary whitespace, and what it must parse to."""
    key, pad = draw(KEYS), lambda: draw(SPACE)
    form = draw(st.sampled_from(["exists", "!exists", "=", "==", "!=", "in", "notin"]))
    if form == "exists":
        return f"{pad()}{key}{pad()}", Requirement(key, "exists")
    if form == "!exists":
        return f"{pad()}!{pad()}{key}{pad()}", Requirement(key, "!exists")
    if form in ("=", "==", "!="):
        value = draw(VALUES)
        operator = "!=" if form == "!=" else "="
        return f"{pad()}{key}{pad()}{form}{pad()}{value}{pad()}", Requirement(
            key, operator, frozenset({value})
        )
    values = draw(st.lists(VALUES, min_size=1, max_size=5))
    inside = ",".join(f"{pad()}{v}{pad()}" for v in values)
    text = f"{pad()}{key} {pad()}{form}{pad()}({inside}){pad()}"
    return text, Requirement(key, "in" if form == "in" else "notin", frozenset(values))


@given(st.lists(requirements(), min_size=1, max_size=6))
def test_every_valid_selector_parses_to_its_requirements(
    drawn: list[tuple[str, Requirement]],
) -> None:
    text = ",".join(t for t, _ in drawn)
    assert LabelSelector.parse(text).requirements == tuple(r for _, r in drawn)


def _render(requirement: Requirement) -> str:
    key, op, values = requirement.key, requirement.operator, sorted(requirement.values)
    if op in ("exists", "!exists"):
        return key if op == "exists" else f"!{key}"
    if op in ("=", "!="):
        return f"{key}{op}{values[0]}"
    return f"{key} {op} ({','.join(values)})"


@given(st.text(alphabet=st.sampled_from(list("ab/-. \t!=(),xinot\u00e9\u2003")), max_size=300))
def test_any_text_is_refused_as_invalid_or_parses_to_what_it_says(text: str) -> None:
    try:
        parsed = LabelSelector.parse(text)
    except InvalidSelector:
        return  # anything else (a crash, another exception) fails the test
    canonical = ",".join(_render(r) for r in parsed.requirements)
    assert LabelSelector.parse(canonical) == parsed


_100KB = 100 * 1024
_SPACES = " " * (_100KB // 2)

# (family, a 100 KB selector, what parse() must do: a Requirement tuple, or None = refuse)
HOSTILE: list[tuple[str, str, tuple[Requirement, ...] | None]] = [
    ("the old backtracking case", f"a{_SPACES}in{_SPACES}!", None),
    ("spaces then a bad character", f"a in{' ' * _100KB}!", None),
    ("spaces around '!'", f"{_SPACES}!{_SPACES}a=", None),
    (
        "spaces around a valid set",
        f"a{_SPACES}in{_SPACES}(x)",
        (Requirement("a", "in", frozenset("x")),),
    ),
    ("unclosed parentheses", "a in " + "(" * _100KB, None),
    ("nested parentheses", "a in " + "(" * (_100KB // 2) + "x" + ")" * (_100KB // 2), None),
    ("repeated operators", "a" + "==" * (_100KB // 2), None),
    ("repeated '!'", "!" * _100KB + "a", None),
    ("many empty requirements", "," * _100KB, ()),
    ("one long key", "k" * _100KB, (Requirement("k" * _100KB, "exists"),)),
    (
        "many requirements",
        ",".join(["a"] * (_100KB // 2)),
        (Requirement("a", "exists"),) * (_100KB // 2),
    ),
    (
        "a set of many values",
        "a in (" + ",".join(["v"] * (_100KB // 2)) + ")",
        (Requirement("a", "in", frozenset("v")),),
    ),
    ("a set with a trailing comma", "a in (" + "v," * (_100KB // 2) + ")", None),
    (
        "unicode whitespace",
        "a" + "\u2003" * _100KB + "=b",
        (Requirement("a", "=", frozenset("b")),),
    ),
]


@pytest.mark.parametrize(("family", "text", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_selectors_are_answered_correctly(
    family: str, text: str, expected: tuple[Requirement, ...] | None
) -> None:
    assert len(text) >= _100KB - 2, family
    if expected is None:
        with pytest.raises(InvalidSelector) as refused:
            LabelSelector.parse(text)
        assert len(str(refused.value)) < 200  # the message quotes a bounded excerpt
    else:
        assert LabelSelector.parse(text).requirements == expected
