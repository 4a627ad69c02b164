"""``App.add_migrations`` and ``App.add_detail_fields``: what a project declares about its
own tables, checked when it is declared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft import App
from kubeweft.db.migrate import MigrationSet, MigrationsNotFound
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.rest.schemas import schemas_for


class Notes(BaseModel):
    note_count: int = 0


class Required(BaseModel):
    owner: str


async def load(session: AsyncSession, uids: Sequence[str]) -> Mapping[str, Notes]:
    return {}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    package = tmp_path / "ownshop" / "migrations"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "ownshop.migrations"


def test_migrations_get_a_version_table_named_after_the_app(project: str) -> None:
    app = App("My Shop")
    app.add_migrations(project)
    assert app.migrations == (MigrationSet(project, "alembic_version_my_shop"),)
    assert app.migrations[0].heads() == ()  # an empty package: nothing to run yet


def test_a_second_set_needs_its_own_version_table(project: str) -> None:
    app = App("shop")
    app.add_migrations(project)
    with pytest.raises(ValueError, match="version_table="):
        app.add_migrations("kubeweft.db.migrations")
    with pytest.raises(ValueError, match="already runs the migrations"):
        app.add_migrations(project, version_table="shop_versions_2")


def test_a_missing_package_or_kubeweft_s_own_table_is_refused(project: str) -> None:
    with pytest.raises(MigrationsNotFound, match=r"ownshop\.nothing"):
        App("shop").add_migrations("ownshop.nothing")
    with pytest.raises(ValueError, match="other than kubeweft's"):
        App("shop").add_migrations(project, version_table="alembic_version")


def test_detail_fields_join_the_read_and_list_schemas_camel_case() -> None:
    app = App("shop")
    app.add_model(WebApp)
    app.add_detail_fields(WebApp, Notes, load)
    (declared,) = app.detail_fields
    schemas = schemas_for(WebApp, app.detail_fields)
    for schema in (schemas.read, schemas.list_item):
        assert schema.model_json_schema()["properties"]["noteCount"]["default"] == 0
    assert declared.wire(None) == {"noteCount": 0}
    assert declared.wire(Notes(note_count=3)) == {"noteCount": 3}


def test_detail_fields_are_checked_when_declared() -> None:
    app = App("shop")
    with pytest.raises(ValueError, match="add_model"):
        app.add_detail_fields(WebApp, Notes, load)
    app.add_model(WebApp)
    with pytest.raises(TypeError, match="needs a default"):
        app.add_detail_fields(WebApp, Required, load)
    app.add_detail_fields(WebApp, Notes, load)
    with pytest.raises(ValueError, match="note_count"):
        app.add_detail_fields(WebApp, Notes, load)


def test_a_field_may_not_shadow_a_member_of_the_body() -> None:
    class Clash(BaseModel):
        health_score: int = 0

    app = App("shop")
    app.add_model(WebApp)
    app.add_detail_fields(WebApp, Clash, load)
    with pytest.raises(ValueError, match="healthScore"):
        schemas_for(WebApp, app.detail_fields)
