"""DelegatingClient: reads from the reader, writes through the writer, and hands each
write's answer to a reader that keeps this process's writes (``Cache.mutation``)."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.controllerutil import DelegatingClient
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


class MutationReader(FakeClient):
    """A reader that records what it is told was written (as ``Cache.mutation``)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, str | None]] = []

    def mutation(self, obj: Any) -> bool:
        self.written.append((obj.metadata.name, obj.metadata.resourceVersion))
        return True


async def test_every_write_answer_reaches_the_readers_mutation() -> None:
    reader, writer = MutationReader(), FakeClient()
    client = DelegatingClient(reader, writer)

    created = await client.create(ConfigMap(metadata=ObjectMeta(name="a"), data={"k": "1"}))
    created.data = {"k": "2"}
    updated = await client.update(created)
    patched = await client.patch(ConfigMap, "a", {"data": {"k": "3"}}, namespace="default")

    versions = [o.metadata.resourceVersion for o in (created, updated, patched)]  # type: ignore[union-attr]
    assert reader.written == [("a", v) for v in versions]
    assert len(set(versions)) == 3  # the answers, not the objects sent
    assert len(writer.writes) == 3  # each write went to the writer once


async def test_a_refused_write_hands_nothing_over() -> None:
    reader, writer = MutationReader(), FakeClient()
    client = DelegatingClient(reader, writer)
    await client.create(ConfigMap(metadata=ObjectMeta(name="a")))
    reader.written.clear()

    with pytest.raises(Exception, match="already exists"):
        await client.create(ConfigMap(metadata=ObjectMeta(name="a")))
    assert reader.written == []


async def test_a_reader_without_mutation_is_only_read() -> None:
    reader, writer = FakeClient(), FakeClient()
    client = DelegatingClient(reader, writer)
    created = await client.create(ConfigMap(metadata=ObjectMeta(name="a")))
    assert created.metadata.resourceVersion  # type: ignore[union-attr]
    assert reader.writes == []
