"""A private PostgreSQL server for tests and benchmarks, and the database fixtures.

``PostgresServer`` runs Debian's PostgreSQL binaries (``/usr/lib/postgresql/*/bin``) on
a cluster created with ``initdb`` in a temporary directory, listening on a free
loopback port with trust authentication and fsync off (fast, disposable). Running as
root, the server runs as the ``postgres`` system user (PostgreSQL refuses root).

Fixtures:

* ``postgres_server`` (session) — the running ``PostgresServer``; ``.stop()`` and
  ``.start()`` keep the data directory and port, for outage tests.
* ``postgres_url`` (session) — a database created once for the session (unmigrated;
  ``kubeweft.db.migrate`` is idempotent, so start-up migrates it).
* ``database_url`` (per test, parametrised ``sqlite`` / ``postgresql``) — a fresh,
  empty database: a temp SQLite file, or a new PostgreSQL database.
* ``database`` (per test, same parameters) — a connected, migrated ``Database``.

Without the PostgreSQL binaries the PostgreSQL tests are skipped with the fix, or
FAIL under ``CI=true`` (``unavailable``). A test that only makes sense on PostgreSQL
is decorated with :data:`POSTGRESQL_ONLY`, so its SQLite variant is never generated.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kubeweft.db.engine import Database
from kubeweft.db.migrate import migrate
from kubeweft.localcluster.pytest_plugin import unavailable

INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin. "
    "`make test` installs them (Debian package `postgresql`) via hack/system-deps.sh; "
    "run `bash hack/system-deps.sh` once. PostgreSQL TESTS ARE NOT RUNNING."
)


def find_bin_dir() -> Path | None:
    """Debian's newest PostgreSQL ``bin`` directory, or None when not installed."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One private PostgreSQL cluster: ``initdb`` once, then ``start()``/``stop()`` freely."""

    def __init__(self, bin_dir: Path, *, port: int | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.base_dir = Path(tempfile.mkdtemp(prefix="kubeweft-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_file = self.base_dir / "postgres.log"
        self.user = "postgres"
        self._run_as: str | None = None
        if os.geteuid() == 0:
            self._run_as = "postgres"
            try:
                pwd.getpwnam(self._run_as)
            except KeyError:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", self._run_as],
                    check=True,
                    capture_output=True,
                )
        self._names = itertools.count()
        self.running = False

    # --- lifecycle -------------------------------------------------------------
    def _cmd(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return ["runuser", "-u", self._run_as, "--", *args]

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n{log}"
            )
        return proc

    def init(self) -> None:
        self.socket_dir.mkdir()
        if self._run_as is not None:
            entry = pwd.getpwnam(self._run_as)
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.running = True

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut); data is kept."""
        if not self.running:
            return
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
        )
        self.running = False

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    # --- databases ---------------------------------------------------------------
    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        proc = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {proc.stderr}")
        return proc.stdout

    def create_database(self, prefix: str = "kubeweft") -> str:
        """A new empty database; returns its URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


# --- fixtures ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        unavailable(INSTALL_HINT)
    # `timeout`, CI cancellation and IDEs stop pytest with SIGTERM, which would skip
    # fixture teardown and leave the server running: treat it like Ctrl-C instead.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    with PostgresServer(bin_dir) as server:
        atexit.register(server.destroy)  # a no-op once the fixture has stopped it
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database("session")
    yield url
    if postgres_server.running:
        postgres_server.drop_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database("test")
    yield url
    if not server.running:  # a test that stopped the server must not leave it down
        server.start()
    server.drop_database(url)


#: ``database_url`` (and so ``database``) only for PostgreSQL: for tests of what only a
#: server has (advisory locks, enforced VARCHAR lengths, a server that goes away).
POSTGRESQL_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    await migrate(database_url)
    db = Database(database_url).connect()
    try:
        yield db
    finally:
        await db.aclose()
