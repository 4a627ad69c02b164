"""A private PostgreSQL server for tests and benchmarks: ``initdb`` in a temporary directory.

``PostgresServer`` runs Debian's PostgreSQL binaries (``/usr/lib/postgresql/*/bin``) on
a cluster created with ``initdb`` in a temporary directory, listening on a free
loopback port with trust authentication and fsync off (fast, disposable). Running as
root, the server runs as the ``postgres`` system user (PostgreSQL refuses root). A
test gets a fresh database with :meth:`PostgresServer.create_database`; ``stop()`` and
``start()`` keep the data directory and port, for outage tests.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from kubeweft.localcluster.ports import free_port

__all__ = ["INSTALL_HINT", "PostgresServer", "find_bin_dir", "free_port"]

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
