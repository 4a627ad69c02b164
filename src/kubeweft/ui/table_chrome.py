"""The dashboard table page around its rows, rendered once per what it shows and kept.

An open table page fetches itself again after every change event (``dashboard.js``).
Its rows come from ``ui.table_rows.RowCache``; the page around them — the signed-in
header, the query form with its field lists, a sort link per column header, the pager —
was rendered by Jinja on every request, and over HTTP that cost more than finding the
page among 10,000 objects and joining its 50 rows. It depends only on what the template
reads besides the rows: the model, the query, the page's numbers (total, page, page
count), the metric columns, the error, who is signed in and the session cookie (whose
CSRF token the page carries). Keyed by exactly that, the page is rendered once with a
placeholder where the rows go, cut there, and the two halves kept; a request joins them
around its own rows. The newest ``capacity`` pages are kept, as ``RowCache`` keeps rows.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from markupsafe import Markup

__all__ = ["TableChrome"]

#: Where the rows go. Whatever a request brings (search text, filters, an error) is
#: escaped by the template, so it can never spell this comment.
_ROWS = Markup("<!--kubeweft:rows-->")


class TableChrome:
    """Table pages without their rows, by everything else they show."""

    def __init__(self, capacity: int = 256) -> None:
        self._capacity = capacity
        self._kept: dict[Hashable, tuple[str, str | None]] = {}

    def page(
        self,
        key: Hashable,
        rows: Sequence[Markup],
        render: Callable[[Sequence[Markup]], str],
    ) -> str:
        """The page of ``rows``; ``render(rows)`` renders the whole page when the page
        under ``key`` (everything the template shows besides the rows) is not kept.
        A page without rows shows its "none match" text instead, so it is kept apart."""
        kept = (key, bool(rows))
        halves = self._kept.get(kept)
        if halves is None:
            text = render([_ROWS] if rows else [])
            if rows:
                head, found, tail = text.partition(_ROWS)
                if not found:  # a template that shows no rows: nothing to cut
                    return render(rows)
                halves = (head, tail)
            else:
                halves = (text, None)
            self._kept[kept] = halves
            if len(self._kept) > self._capacity:
                del self._kept[next(iter(self._kept))]  # the oldest
        before, after = halves
        return before if after is None else before + "\n    ".join(rows) + after

    def __len__(self) -> int:
        return len(self._kept)
