"""TableChrome: the page around the rows is rendered once per key and joined around each
request's own rows; a page without rows (its "none match" text) is kept apart."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from kubeweft.ui.table_chrome import TableChrome


class Template:
    """A page with its rows in the middle, counting how often it is rendered."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.renders = 0

    def __call__(self, rows: Sequence[Markup]) -> str:
        self.renders += 1
        body = "".join(rows) or "<tr><td>none match</td></tr>"
        return f"<h1>{self.title}</h1><tbody>{body}</tbody>"


def test_the_page_is_rendered_once_per_key_around_each_requests_rows() -> None:
    chrome, template = TableChrome(), Template("WebApps")
    one, two = Markup("<tr>1</tr>"), Markup("<tr>2</tr>")
    assert chrome.page("k", [one], template) == "<h1>WebApps</h1><tbody><tr>1</tr></tbody>"
    assert chrome.page("k", [one, two], template) == (
        "<h1>WebApps</h1><tbody><tr>1</tr>\n    <tr>2</tr></tbody>"
    )
    assert template.renders == 1
    other = Template("Zones")
    assert chrome.page("k2", [two], other) == "<h1>Zones</h1><tbody><tr>2</tr></tbody>"
    assert other.renders == 1


def test_a_page_without_rows_is_kept_apart() -> None:
    chrome, template = TableChrome(), Template("WebApps")
    chrome.page("k", [Markup("<tr>1</tr>")], template)
    empty = "<h1>WebApps</h1><tbody><tr><td>none match</td></tr></tbody>"
    assert chrome.page("k", [], template) == empty
    assert chrome.page("k", [], template) == empty
    assert template.renders == 2


def test_only_the_newest_pages_are_kept() -> None:
    chrome, template = TableChrome(capacity=2), Template("WebApps")
    for key in ("a", "b", "c", "a"):
        chrome.page(key, [Markup("<tr>1</tr>")], template)
    assert len(chrome) == 2
    assert template.renders == 4  # "a" was the oldest when "c" came
