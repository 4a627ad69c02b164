"""A project's own fields in the detail view and list, on the real stack.

An application declares a table of its own (``shop_notes``, rows per object UID) and
``add_detail_fields(WebApp, ShopNotes, load_notes)``. A real ``Process`` (local control
plane, informer cache, database: SQLite and PostgreSQL) serves it: the fields appear
camelCase in the detail, in every list item (defaults for an object without rows) and
in the OpenAPI schemas, and a list page costs the loader one statement whatever its
size — counted with SQLAlchemy's cursor events, never one per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.api import ObjectMeta, ResourceModel
from kubeweft.application import App
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.localcluster import ClusterAccess
from kubeweft.repositories import unit_of_work
from tests.integration.rest.stack import running
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster]

COUNT = 12

metadata = MetaData()
shop_notes = Table(
    "shop_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(36), nullable=False, index=True),
    Column("body", String(200), nullable=False),
)


class ShopNotes(ResourceModel):
    note_count: int = 0
    last_note: str | None = None


async def load_notes(session: AsyncSession, uids: Sequence[str]) -> Mapping[str, ShopNotes]:
    rows = await session.execute(
        select(shop_notes.c.uid, func.count(), func.max(shop_notes.c.body))
        .where(shop_notes.c.uid.in_(uids))
        .group_by(shop_notes.c.uid)
    )
    return {uid: ShopNotes(note_count=count, last_note=last) for uid, count, last in rows}


def shop_app() -> App:
    app = App("shop")
    app.add_model(WebApp)
    app.add_detail_fields(WebApp, ShopNotes, load_notes)
    return app


async def test_fields_in_detail_list_and_openapi_one_statement_per_page(
    local_cluster: ClusterAccess, namespace: str, database_url: str
) -> None:
    async with running(
        local_cluster, database_url, app=shop_app(), enable_controller=False
    ) as stack:
        async with stack.database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        uids: dict[str, str] = {}
        for i in range(COUNT):
            name = f"app-{i:02d}"
            obj = WebApp(
                metadata=ObjectMeta(name=name, namespace=namespace), spec=WebAppSpec(image="nginx")
            )
            created = await stack.client.create(obj)
            uids[name] = str(created.metadata.uid)
        # Every object but the last has notes; app-00 has two.
        rows = [{"uid": uid, "body": f"note of {name}"} for name, uid in list(uids.items())[:-1]]
        rows.append({"uid": uids["app-00"], "body": "a"})
        async with unit_of_work(stack.database) as session:
            await session.execute(shop_notes.insert(), rows)

        async def listed(limit: int) -> list[dict[str, Any]] | None:
            response = await stack.http.get(f"/api/webapps/{namespace}", params={"limit": limit})
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            return items if len(items) == limit else None

        await wait_until_async(lambda: listed(COUNT), what=f"{COUNT} WebApps in the cache")

        detail = await stack.http.get(f"/api/webapps/{namespace}/app-00")
        assert detail.status_code == 200, detail.text
        assert (detail.json()["noteCount"], detail.json()["lastNote"]) == (2, "note of app-00")

        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = stack.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            per_page: dict[int, tuple[int, int]] = {}
            for limit in (1, 5, COUNT):
                statements.clear()
                items = await listed(limit)
                assert items is not None
                per_page[limit] = (
                    sum("shop_notes" in s for s in statements),
                    len(statements),
                )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert items is not None
        by_name = {item["name"]: item for item in items}
        assert by_name["app-00"]["noteCount"] == 2
        assert by_name["app-05"] == {
            **by_name["app-05"],
            "noteCount": 1,
            "lastNote": "note of app-05",
        }
        last = f"app-{COUNT - 1:02d}"
        assert (by_name[last]["noteCount"], by_name[last]["lastNote"]) == (0, None)
        # The loader's statement: one per page; the page's total does not grow with it:
        # besides the loader's, at most the latest samples' one statement (none when the
        # process still keeps them: whether it does depends on when the change watch last
        # saw the database change, here the notes inserted above).
        assert {notes for notes, _ in per_page.values()} == {1}, per_page
        assert {total for _, total in per_page.values()} <= {1, 2}, per_page

        schemas = (await stack.http.get("/openapi.json")).json()["components"]["schemas"]
        for schema in ("WebAppRead", "WebAppListItem"):
            assert {"noteCount", "lastNote"} <= set(schemas[schema]["properties"]), schema
