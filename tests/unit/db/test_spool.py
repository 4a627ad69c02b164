"""The history spool: records kept on disk survive the process, one file per
(uid, generation), and a start finds what a dead process left — nothing half-written."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from kubeweft.db.records import HistoryRecord
from kubeweft.db.spool import HistorySpool

UID = "8f14e45f-ceea-467f-a0e6-9c1b2d3e4f50"


def change(generation: int, uid: str = UID, actor: str | None = "alice") -> HistoryRecord:
    return HistoryRecord(
        uid=uid,
        namespace="default",
        name="shop",
        kind="WebApp",
        generation=generation,
        spec={"image": f"nginx:{generation}", "replicas": 1},
        actor=actor,
        created_at=datetime(2026, 12, 2, 1, generation, tzinfo=UTC),
    )


def test_a_kept_record_is_loaded_as_it_was(tmp_path: Path) -> None:
    spool = HistorySpool(tmp_path / "spool")
    assert spool.load() == []  # no directory yet: nothing left

    assert spool.keep(change(2, actor=None)) is True
    assert spool.keep(change(1)) is True

    # A new process's spool on the same directory: oldest generation first.
    assert HistorySpool(tmp_path / "spool").load() == [change(1), change(2, actor=None)]


def test_a_generation_kept_already_is_left_as_it_is(tmp_path: Path) -> None:
    spool = HistorySpool(tmp_path)
    assert spool.keep(change(1)) is True
    assert spool.keep(dataclasses.replace(change(1), actor="bob")) is False
    assert spool.load() == [change(1)]
    assert [p.name for p in tmp_path.iterdir()] == [f"{UID}.1.json"]  # no temporary left


def test_a_dropped_record_is_gone_and_dropping_twice_is_harmless(tmp_path: Path) -> None:
    spool = HistorySpool(tmp_path)
    spool.keep(change(1))
    spool.keep(change(2))

    spool.drop(change(1))
    spool.drop(change(1))

    assert spool.load() == [change(2)]


def test_a_uid_that_is_no_file_name_is_hashed_into_one(tmp_path: Path) -> None:
    spool = HistorySpool(tmp_path)
    odd = change(1, uid="../../etc/passwd")

    spool.keep(odd)

    assert spool.path(odd).parent == tmp_path
    assert spool.load() == [odd]


def test_half_written_and_unreadable_files_are_not_replayed(tmp_path: Path) -> None:
    spool = HistorySpool(tmp_path)
    spool.keep(change(1))
    (tmp_path / f".{UID}.2.json.tmp").write_text('{"uid": "')  # died inside keep()
    (tmp_path / f"{UID}.3.json").write_text("not json")

    assert spool.load() == [change(1)]

    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{UID}.1.json", f"{UID}.3.json.bad"]
    assert spool.load() == [change(1)]  # set aside once, not at every start
