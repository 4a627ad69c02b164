"""The change-history migration on real databases (SQLite and PostgreSQL): WebApp's
``deployment_history`` rows are carried into ``change_history`` with a spec and an
RFC 6902 patch, and the downgrade carries them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from kubeweft.db.engine import create_engine
from kubeweft.db.migrate import downgrade, migrate

pytestmark = pytest.mark.anyio

BEFORE = "3c7e91a4d2b8"  # the revision before change_history
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def _execute(url: str, sql: str, rows: list[dict[str, Any]] | None = None) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), rows or {})
            return list(result.mappings().all()) if result.returns_rows else []
    finally:
        await engine.dispose()


OLD_ROWS = [
    ("a", 1, "nginx:1", 2, None, None, "alice"),
    ("a", 2, "nginx:2", 2, "nginx:1", 2, None),
    ("a", 4, "nginx:2", 5, "nginx:2", 2, "bob"),
    ("b", 1, "redis:7", 1, None, None, None),
]


async def test_webapp_rows_carry_over_and_back(database_url: str) -> None:
    await migrate(database_url, BEFORE)
    await _execute(
        database_url,
        "INSERT INTO deployment_history (uid, namespace, name, kind, generation, image,"
        " replicas, previous_image, previous_replicas, actor, source, created_at) VALUES"
        " (:uid, 'default', 'web', 'WebApp', :generation, :image, :replicas,"
        " :previous_image, :previous_replicas, :actor, 'reconciler', :created_at)",
        [
            dict(
                zip(
                    (
                        "uid",
                        "generation",
                        "image",
                        "replicas",
                        "previous_image",
                        "previous_replicas",
                        "actor",
                    ),
                    row,
                    strict=True,
                ),
                created_at=AT.replace(tzinfo=None) if "sqlite" in database_url else AT,
            )
            for row in OLD_ROWS
        ],
    )

    await migrate(database_url)

    rows = await _execute(
        database_url,
        "SELECT uid, generation, kind, actor, spec, patch FROM change_history"
        " ORDER BY uid, generation",
    )
    carried = [
        (r["uid"], r["generation"], r["kind"], r["actor"], _json(r["spec"]), _json(r["patch"]))
        for r in rows
    ]
    assert carried == [
        ("a", 1, "WebApp", "alice", {"image": "nginx:1", "replicas": 2}, None),
        (
            "a",
            2,
            "WebApp",
            None,
            {"image": "nginx:2", "replicas": 2},
            [{"op": "replace", "path": "/image", "value": "nginx:2"}],
        ),
        (
            "a",
            4,
            "WebApp",
            "bob",
            {"image": "nginx:2", "replicas": 5},
            [{"op": "replace", "path": "/replicas", "value": 5}],
        ),
        ("b", 1, "WebApp", None, {"image": "redis:7", "replicas": 1}, None),
    ]

    # Another model's row has no place in the old table; the WebApp rows go back whole.
    await _execute(
        database_url,
        "INSERT INTO change_history (uid, namespace, name, kind, generation, spec, patch,"
        " actor, source, created_at) VALUES ('c', 'default', 'hello', 'Greeter', 1,"
        " :spec, NULL, NULL, 'reconciler', :created_at)",
        [
            {
                "spec": '{"message": "hi"}',
                "created_at": AT.replace(tzinfo=None) if "sqlite" in database_url else AT,
            }
        ],
    )
    await downgrade(database_url, BEFORE)

    back = await _execute(
        database_url,
        "SELECT uid, generation, image, replicas, previous_image, previous_replicas, actor"
        " FROM deployment_history ORDER BY uid, generation",
    )
    assert [tuple(r.values()) for r in back] == OLD_ROWS


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
