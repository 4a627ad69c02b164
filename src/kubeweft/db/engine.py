"""The async engine and sessions, and ``Database``, the object the process holds.

One engine per process, created from a URL: ``sqlite+aiosqlite`` (the embedded
default) or ``postgresql+asyncpg``. SQLite is tuned for a server that writes while it
reads: WAL (readers never block the writer), foreign keys enforced, and a busy timeout
so a second writer waits instead of failing at once.

A process's engine is given a *statement timeout* (``Database(statement_timeout=…)``):
a database that stops answering must cost a request a few seconds and a 503, not a
worker forever. On PostgreSQL the server cancels a statement that runs longer
(``statement_timeout``), asyncpg gives up on its own when the server does not answer
at all (``command_timeout``: a stopped or partitioned server), and both connecting and
waiting for a pooled connection are bounded by the same figure. On SQLite the busy
timeout becomes that figure. ``Database.deadline()`` bounds a whole unit of work the
same way from the client side; :func:`is_timeout` tells such a failure from others.
Migrations use an engine without these bounds (a schema change may take longer).
"""

from __future__ import annotations

import asyncio
import math
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.ext.asyncio import (
    create_async_engine as _create_async_engine,
)

if TYPE_CHECKING:  # asyncpg loads only when a PostgreSQL database is used
    import asyncpg

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_STATEMENT_TIMEOUT_S = 5.0
# Connections per PostgreSQL pool (KUBEWEFT_DATABASE_POOL_SIZE): SQLAlchemy's default
# pool held 5 + 10 overflow, so 32 concurrent reads queued for a connection.
DEFAULT_POOL_SIZE = 20
# The client-side deadline fires this much after the drivers' own bounds, so that a
# driver normally ends the wait itself (a clean error; cancelling a driver mid-call
# costs the connection) and the deadline only catches what no driver bound covers.
DEADLINE_MARGIN_S = 0.5
# PostgreSQL's SQLSTATEs for "gave up waiting": query_canceled (statement_timeout),
# lock_not_available (lock_timeout).
_PG_TIMEOUT_STATES = frozenset({"57014", "55P03"})


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgresql(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def _on_sqlite_connect(busy_timeout_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _roll_back_what_is_open(dbapi_connection: Any, _record: Any, state: Any) -> None:
    """The pool's reset on return (SQLite): a rollback only when a transaction is open.

    Reading sqlite3's ``in_transaction`` flag costs nothing; the rollback is a hop to
    aiosqlite's thread and back, which SQLAlchemy's default reset paid on every return.
    """
    if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _replace_unusable_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection that cannot run a statement right now.

    Two cases, both read from asyncpg's own state instead of the round trips
    ``pool_pre_ping`` costs on every checkout (BEGIN, an empty query and ROLLBACK: three
    per read). The server closed it (a restart, an idle timeout): asyncpg sets the closed
    flag as soon as the event loop sees the close. Or a statement on it ran past a
    timeout: asyncpg is then still cancelling that statement on the server (a new
    connection that may hang as long as the server does), and a statement sent meanwhile
    fails as "another operation is in progress" — a 500 where a server that stopped
    answering must give a 503 (``tests/integration/db/test_statement_timeout.py``).
    asyncpg's own pool makes the same check on release (``_is_cancelling``). The pool
    replaces a connection refused here with a new one; against a server that does not
    answer, connecting runs into the statement timeout, hence the 503.
    """
    driver = dbapi_connection.driver_connection
    if driver.is_closed():
        raise sa_exc.DisconnectionError("the server closed this pooled connection")
    if driver._protocol._is_cancelling():
        raise sa_exc.DisconnectionError("a timed-out statement is still being cancelled")


def _postgres_connect_args(statement_timeout: float | None) -> dict[str, Any]:
    """asyncpg's connect arguments: the statement timeout as the server's and the client's
    bound on each statement, lock wait and connection attempt."""
    server_settings = {"application_name": "kubeweft"}
    connect_args: dict[str, Any] = {"timeout": 10, "server_settings": server_settings}
    if statement_timeout is not None:
        milliseconds = str(max(1, int(statement_timeout * 1000)))
        server_settings["statement_timeout"] = milliseconds
        server_settings["lock_timeout"] = milliseconds
        connect_args["timeout"] = statement_timeout
        connect_args["command_timeout"] = statement_timeout
    return connect_args


async def _keep_session(_connection: Any) -> None:
    """The read pool's reset on release: none. Its connections only run single SELECTs
    outside a transaction, so there is no session state to undo, and asyncpg's default
    reset (``RESET ALL`` and friends) would cost a round trip per read."""


def create_engine(
    url: str,
    *,
    echo: bool = False,
    statement_timeout: float | None = None,
    pool_size: int | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine for ``url``, with the per-dialect settings kubeweft relies on.

    ``statement_timeout`` (seconds) bounds each statement, each lock wait, connecting
    and the wait for a pooled connection; None leaves them at the drivers' defaults.
    ``pool_size`` (PostgreSQL) is how many connections the pool keeps and may hold, with
    no overflow beyond it: an overflow connection is closed when it comes back, and the
    next burst pays PostgreSQL a new backend and every statement's preparation again.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        busy_ms = (
            SQLITE_BUSY_TIMEOUT_MS if statement_timeout is None else int(statement_timeout * 1000)
        )
        # A connection comes back without an open transaction after every read of the
        # read model (the driver's own statement): the pool's rollback-on-return would
        # cost a hop to its thread each time for nothing. It rolls back what is open.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = _create_async_engine(
            url, echo=echo, connect_args={"timeout": busy_ms / 1000}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", partial(_on_sqlite_connect, busy_ms))
        event.listen(engine.sync_engine, "reset", _roll_back_what_is_open)
        return engine
    if backend == "postgresql":
        connect_args = _postgres_connect_args(statement_timeout)
        if statement_timeout is not None:
            kwargs.setdefault("pool_timeout", statement_timeout)
        if pool_size is not None:
            kwargs.setdefault("pool_size", pool_size)
            kwargs.setdefault("max_overflow", 0)
        engine = _create_async_engine(url, echo=echo, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "checkout", _replace_unusable_connection)
        return engine
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string()!r}: use sqlite or postgresql"
    )


def is_timeout(error: BaseException) -> bool:
    """True when ``error`` (or what it wraps) means "the database did not answer in time".

    That is a deadline from :meth:`Database.deadline`, asyncpg's ``command_timeout``, the
    pool's checkout timeout, PostgreSQL cancelling a statement or a lock wait, or
    SQLite's busy timeout running out ("database is locked").
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (TimeoutError, asyncio.TimeoutError, sa_exc.TimeoutError)):
            return True
        if getattr(current, "sqlstate", None) in _PG_TIMEOUT_STATES:
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (rows outlive their session)."""
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """The process's database: one engine and its session factory.

    ``connect()`` creates the engine; ``verify()`` proves the server answers;
    ``ping()`` is the readiness probe's question; ``aclose()`` returns connections.
    ``statement_timeout`` (seconds, None for the drivers' defaults) bounds every
    statement and connection wait, and ``deadline()`` a whole unit of work.
    ``driver_connection()`` lends the driver's own connection for the read model's
    single statements; on PostgreSQL from a pool of asyncpg's own, of at most
    ``pool_size`` connections (the engine's pool has the same size).
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        statement_timeout: float | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.url = url
        # Read on every request's statement: parsed once.
        self.dialect = make_url(url).get_backend_name()
        self.statement_timeout = statement_timeout
        self.pool_size = pool_size
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._driver_pool: asyncpg.Pool | None = None
        self._driver_pool_lock: anyio.Lock | None = None  # made in the loop that uses it

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

    def connect(self) -> Database:
        if self._engine is None:
            self._engine = create_engine(
                self.url,
                echo=self._echo,
                statement_timeout=self.statement_timeout,
                pool_size=self.pool_size if self.dialect == "postgresql" else None,
            )
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

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The driver's own connection (asyncpg's or aiosqlite's), for one statement.

        The read model sends its statements here, past the ORM and SQLAlchemy's pool:
        on PostgreSQL a checkout of SQLAlchemy's pool cost more client CPU than the read
        itself (its greenlet bridge and bookkeeping), so these reads take connections
        from an asyncpg pool of their own, which replaces a connection the server closed
        and waits out (or drops) one whose statement timed out before lending it again.
        SQLite's reads keep the engine's pool: its connections are threads of one file.
        """
        if self.dialect != "postgresql":
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                yield raw.driver_connection
            return
        pool = self._driver_pool or await self._open_driver_pool()
        async with pool.acquire(timeout=self.statement_timeout) as connection:
            try:
                yield connection
            except BaseException:
                if not connection.is_closed() and connection._protocol._is_cancelling():
                    # A statement that timed out (or whose request was cancelled) is
                    # still being cancelled on the server. Returned as it is, asyncpg's
                    # release would wait for that in a task of its own, and against a
                    # server that does not answer fail there, where no one hears it.
                    # Closed now, it is replaced by the next acquire instead.
                    connection.terminate()
                raise

    async def _open_driver_pool(self) -> asyncpg.Pool:
        import asyncpg

        if self._driver_pool_lock is None:
            self._driver_pool_lock = anyio.Lock()
        async with self._driver_pool_lock:
            if self._driver_pool is None:
                self.engine  # noqa: B018 -- raises unless connect() was called
                dsn = make_url(self.url).set(drivername="postgresql")
                connect_args = _postgres_connect_args(self.statement_timeout)
                # PostgreSQL's default plan_cache_mode stays: it re-plans the detail's
                # statement on every execution, but the generic plan it would keep
                # instead read thirty days of samples twenty times slower than one day
                # (bench/rest_throughput.py; docs/design/performance.md).
                self._driver_pool = await asyncpg.create_pool(
                    dsn.render_as_string(hide_password=False),
                    min_size=0,
                    max_size=self.pool_size,
                    reset=_keep_session,
                    **connect_args,
                )
            return self._driver_pool

    @contextmanager
    def deadline(self) -> Iterator[None]:
        """Bound the block by the statement timeout (``TimeoutError`` when it runs out).

        The per-statement bounds cannot cover a unit of work of several statements, nor
        a connection that hangs while being returned to the pool; this does. It allows
        ``DEADLINE_MARGIN_S`` more, so the drivers' own bounds normally fire first.
        """
        if self.statement_timeout is None:
            yield
            return
        with anyio.fail_after(self.statement_timeout + DEADLINE_MARGIN_S):
            yield

    @property
    def retry_after(self) -> int:
        """Whole seconds a client should wait before retrying after a timeout."""
        return max(1, math.ceil(self.statement_timeout or 1))

    async def verify(self, timeout_s: float | None = None) -> None:
        """Run ``SELECT 1``; raise (``TimeoutError`` or the driver's error) if it fails.

        ``timeout_s`` defaults to the statement timeout (10 s without one).
        """
        limit = timeout_s if timeout_s is not None else (self.statement_timeout or 10.0)
        try:
            with anyio.fail_after(limit):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except TimeoutError as exc:
            raise TimeoutError(f"the database did not answer within {limit:g}s") from exc

    async def ping(self, timeout_s: float | None = None) -> bool:
        """True when the database answers within ``timeout_s`` (for ``/readyz``)."""
        try:
            await self.verify(timeout_s)
        except Exception:
            return False
        return True

    async def aclose(self) -> None:
        pool, self._driver_pool = self._driver_pool, None
        if pool is not None:
            with anyio.move_on_after(self.statement_timeout or 10.0) as waited:
                await pool.close()
            if waited.cancelled_caught:
                pool.terminate()
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    async def __aenter__(self) -> Database:
        return self.connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
