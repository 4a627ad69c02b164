"""Label selectors: Kubernetes' string grammar, parsed once, matched against labels."""

from __future__ import annotations

import pytest

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
