"""A project's own fields on a model's detail view and list, joined by UID.

A project keeps rows of its own about a model's objects (its tables, its migrations)
and shows them with each object: ``app.add_detail_fields(Tenant, TenantOwners,
load_owners)``. ``TenantOwners`` is a pydantic model whose fields join the ``<Kind>Read``
and ``<Kind>ListItem`` bodies (camelCase, like every other member) and their OpenAPI
schemas; every field has a default, which an object without rows gets. The loader is
the project's SQL: it gets a session and the UIDs of a whole response — one object for
the detail, the whole page for a list — and returns a mapping UID → fields. It is called
once per response, so a list page costs one statement however many items it shows,
never one per item.

Each response's loaders share one short session under the database deadline; a failure
is :class:`DatabaseUnavailable` (500) or :class:`DatabaseTimeout` (503), as for
kubeweft's own rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from sqlalchemy.ext.asyncio import AsyncSession

from kubeweft.db.engine import Database, is_timeout
from kubeweft.repositories import unit_of_work
from kubeweft.views.detail import DetailView
from kubeweft.views.errors import DatabaseTimeout, DatabaseUnavailable
from kubeweft.views.listing import ListPage

__all__ = ["DetailFields", "FieldLoader", "FieldSource"]

#: ``await loader(session, uids)`` → ``{uid: fields}``; a UID left out gets the defaults.
FieldLoader = Callable[[AsyncSession, Sequence[str]], Awaitable[Mapping[str, BaseModel]]]


@dataclass(frozen=True)
class DetailFields:
    """Fields a project adds to one model's bodies, and the loader that reads them."""

    model: type[Any]
    fields: type[BaseModel]
    loader: FieldLoader

    def __post_init__(self) -> None:
        if not (isinstance(self.fields, type) and issubclass(self.fields, BaseModel)):
            raise TypeError(f"fields must be a pydantic model class, not {self.fields!r}")
        try:
            self.fields()
        except ValidationError:
            raise TypeError(
                f"every field of {self.fields.__qualname__} needs a default: an object "
                "without rows of its own gets it"
            ) from None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.fields.model_fields)

    def wire(self, values: BaseModel | None) -> dict[str, Any]:
        """``values`` (or the defaults) as body members: camelCase keys, JSON values."""
        if values is None:
            values = self.fields()
        elif not isinstance(values, self.fields):
            raise TypeError(
                f"the loader of {self.fields.__qualname__} returned {type(values).__name__}"
            )
        dumped = values.model_dump(mode="json", by_alias=True)
        return {
            to_camel(name): dumped[info.serialization_alias or info.alias or name]
            for name, info in self.fields.model_fields.items()
        }


class FieldSource:
    """Runs the declared loaders of a model for the UIDs of one response."""

    def __init__(self, database: Database, declared: Sequence[DetailFields]) -> None:
        self._database = database
        self.declared = tuple(declared)

    def declared_for(self, model: type[Any]) -> tuple[DetailFields, ...]:
        return tuple(d for d in self.declared if d.model is model)

    async def load(self, model: type[Any], uids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """UID → the body members of every declaration for ``model``."""
        declared = self.declared_for(model)
        if not declared or not uids:
            return {}
        found: list[Mapping[str, BaseModel]] = []
        try:
            with self._database.deadline():
                async with unit_of_work(self._database) as session:
                    for declaration in declared:
                        found.append(await declaration.loader(session, list(uids)))
        except Exception as exc:
            if is_timeout(exc):
                raise DatabaseTimeout(
                    type(exc).__name__, retry_after=self._database.retry_after
                ) from exc
            raise DatabaseUnavailable(type(exc).__name__) from exc
        members: dict[str, dict[str, Any]] = {uid: {} for uid in uids}
        for declaration, rows in zip(declared, found, strict=True):
            for uid in uids:
                members[uid].update(declaration.wire(rows.get(uid)))
        return members

    def defaults(self, model: type[Any]) -> dict[str, Any]:
        """The members of an object without rows (or whose rows could not be read)."""
        members: dict[str, Any] = {}
        for declaration in self.declared_for(model):
            members.update(declaration.wire(None))
        return members

    def with_defaults(self, view: DetailView) -> DetailView:
        """``view`` with the default members (a new object: no rows can exist yet)."""
        return dataclasses.replace(view, fields=self.defaults(type(view.obj)))

    async def add_to_detail(
        self, model: type[Any], view: DetailView, *, best_effort: bool = False
    ) -> DetailView:
        """``view`` with its members; ``best_effort`` (after a write that already
        happened) gives the defaults instead of failing when the database does."""
        if not self.declared_for(model):
            return view
        uid = view.obj.metadata.uid
        try:
            members = await self.load(model, [uid])
        except DatabaseUnavailable:
            if not best_effort:
                raise
            return dataclasses.replace(view, fields=self.defaults(model))
        return dataclasses.replace(view, fields=members.get(uid, {}))

    async def add_to_page(self, model: type[Any], page: ListPage) -> ListPage:
        if not self.declared_for(model) or not page.items:
            return page
        members = await self.load(model, [item.obj.metadata.uid for item in page.items])
        items = [
            dataclasses.replace(item, fields=members.get(item.obj.metadata.uid, {}))
            for item in page.items
        ]
        return dataclasses.replace(page, items=items)
