"""The detail page's timeline: a rollback entry names its target and actor, and every past
generation offers "Roll back to generation N…" through one labelled confirmation dialog
that posts to the REST operation with the ETag of the version on screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from kubeweft.api import ObjectMeta
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard
from kubeweft.views.records import HistoryEntry
from tests.support.models import Zone, ZoneSpec
from tests.unit.rest.conftest import build

pytestmark = pytest.mark.anyio


async def test_the_timeline_offers_a_rollback_per_past_generation_and_names_rollbacks() -> None:
    settings = Settings(dev_user="alice")
    app, kube, store, _authorizer, context = build(settings, models=(Zone,))
    created = await kube.create(Zone(metadata=ObjectMeta(name="eu"), spec=ZoneSpec(capacity=3)))
    now = datetime.now(UTC)
    store.history_rows[created.metadata.uid] = [
        HistoryEntry(3, {"capacity": 3}, [], "alice", "reconciler", now, rolled_back_to=1),
        HistoryEntry(2, {"capacity": 7}, [], "bob", "reconciler", now),
        HistoryEntry(1, {"capacity": 3}, None, "alice", "reconciler", now),
    ]
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        page = (await http.get("/ui/zones/eu")).text

    entries = re.findall(r"<li>\s*<div class=\"when\">(.*?)</li>", page, re.S)
    assert "Rolled back to generation 1 by alice" in entries[0]
    assert not any("Rolled back" in entry for entry in entries[1:])
    offered = re.findall(r'<button type="button" class="link rollback" data-rollback="(\d+)"', page)
    assert offered == ["2", "1"]  # every past generation, not the current one
    assert ">Roll back to generation 2…</button>" in page
    dialog = re.search(r"<dialog [^>]*>", page)
    assert dialog is not None
    assert 'aria-labelledby="rollback-title"' in dialog[0]
    assert 'data-post="/api/zones/eu/rollback"' in dialog[0]
    assert '<h2 id="rollback-title">' in page
    etag = f"&#34;{created.metadata.resourceVersion}&#34;"
    assert f'id="current-etag" data-etag="{etag}"' in page.replace("&quot;", "&#34;")
