"""History records kept on local disk until the database has them.

A history row must exist exactly once per generation, also when the process is killed
(kill -9, the OOM killer) while the database is down and the
records wait in the ``RecordWriter``'s memory. So each ``HistoryRecord`` is also a file
in the state directory: the framework writes it — fsync'd, then linked into place —
*before* the reconciler acts on that generation (and so before the reconciler can
advance ``observedGeneration``), and the writer deletes it once the row is committed.
A process that starts hands its predecessor's files to the writer ahead of anything
new; the insert ignores a (uid, generation) already stored, so replaying a record the
dead process had committed but not yet deleted adds nothing.

One file per (uid, generation): writing one costs a create, an fsync and a link;
deleting one is an unlink without fsync — a deletion lost in a crash costs one
harmless replay. Only history is spooled: it is the record promised exactly once;
reconcile-log rows and metric samples are best-effort and stay in memory.

The methods block on the file system; async callers run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from kubeweft.db.records import HistoryRecord

__all__ = ["HistorySpool"]

log = logging.getLogger(__name__)

_SAFE_UID = re.compile(r"[A-Za-z0-9-]{1,128}")
_SUFFIX = ".json"


class HistorySpool:
    """The history records of one process's state directory that the database lacks."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, record: HistoryRecord) -> Path:
        # A Kubernetes UID is a UUID; anything else is hashed into a safe file name.
        key = record.uid if _SAFE_UID.fullmatch(record.uid) else _digest(record.uid)
        return self.directory / f"{key}.{record.generation}{_SUFFIX}"

    def keep(self, record: HistoryRecord) -> bool:
        """Store ``record`` durably: once this returns, a kill -9 cannot lose it.

        False when that (uid, generation) is kept already — by a previous process, whose
        record the writer is replaying — and the file is left as it is.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(record)
        temporary = target.with_name(f".{target.name}.tmp")
        body = json.dumps(_to_json(record), separators=(",", ":")).encode()
        with temporary.open("wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, target)  # unlike a rename, never replaces an existing file
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
        _fsync_directory(self.directory)
        return True

    def drop(self, record: HistoryRecord) -> None:
        """Forget ``record`` (its row is committed, or it will never be one)."""
        self.path(record).unlink(missing_ok=True)

    def load(self) -> list[HistoryRecord]:
        """Every record kept, oldest generation of each UID first.

        A half-written temporary file (the process died inside :meth:`keep`) is removed:
        its record was never acknowledged. A file that cannot be read is renamed to
        ``*.bad`` and logged, so it is looked at once, not at every start.
        """
        if not self.directory.is_dir():
            return []
        found: list[HistoryRecord] = []
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                continue
            if not path.name.endswith(_SUFFIX):
                continue
            try:
                found.append(_from_json(json.loads(path.read_bytes())))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.error("unreadable history spool file %s set aside: %s", path, exc)
                path.replace(path.with_name(f"{path.name}.bad"))
        return sorted(found, key=lambda r: (r.uid, r.generation))


def _digest(uid: str) -> str:
    return hashlib.sha256(uid.encode()).hexdigest()


def _fsync_directory(directory: Path) -> None:
    """Make the new link itself durable (a power loss could otherwise undo it)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _to_json(record: HistoryRecord) -> dict[str, Any]:
    data = {f.name: getattr(record, f.name) for f in fields(record)}
    data["created_at"] = record.created_at.isoformat()
    return data


def _from_json(data: dict[str, Any]) -> HistoryRecord:
    known = {f.name for f in fields(HistoryRecord)}
    values = {key: value for key, value in data.items() if key in known}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return HistoryRecord(**values)
