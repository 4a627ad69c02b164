"""The async engine and sessions, and ``Database``, the object the process holds.

One engine per process, created from a URL: ``sqlite+aiosqlite`` (the embedded
default) or ``postgresql+asyncpg``. SQLite is tuned for a server that writes while it
reads: WAL (readers never block the writer), foreign keys enforced, and a busy timeout
so a second writer waits instead of failing at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.ext.asyncio import (
    create_async_engine as _create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def create_engine(url: str, *, echo: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, with the per-dialect settings kubeweft relies on."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = _create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        connect_args: dict[str, Any] = {
            "timeout": 10,
            "server_settings": {"application_name": "kubeweft"},
        }
        return _create_async_engine(url, echo=echo, connect_args=connect_args, **kwargs)
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (rows outlive their session)."""
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """The process's database: one engine and its session factory.

    ``connect()`` creates the engine; ``verify()`` proves the server answers;
    ``ping()`` is the readiness probe's question; ``aclose()`` returns connections.
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database.connect() has not been called")
        return self._engine

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        if self._sessions is None:
            raise RuntimeError("Database.connect() has not been called")
        return self._sessions

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    def connect(self) -> Database:
        if self._engine is None:
            self._engine = create_engine(self.url, echo=self._echo)
            self._sessions = session_factory(self._engine)
        return self

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s:``."""
        return self.sessions()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions.begin() as session:
            yield session

    async def verify(self, timeout_s: float = 10.0) -> None:
        """Run ``SELECT 1``; raise (``TimeoutError`` or the driver's error) if it fails."""
        with anyio.fail_after(timeout_s):
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

    async def ping(self, timeout_s: float = 2.0) -> bool:
        """True when the database answers within ``timeout_s`` (for ``/readyz``)."""
        try:
            await self.verify(timeout_s)
        except Exception:
            return False
        return True

    async def aclose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def __aenter__(self) -> Database:
        return self.connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
