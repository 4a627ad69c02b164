"""The unit-test fake keeps the API-server behaviours reconciler tests rely on."""

from __future__ import annotations

import pytest

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.runtime import errors
from tests.support.fake_client import FakeClient

pytestmark = pytest.mark.anyio


async def test_generation_resource_version_and_conflicts() -> None:
    client = FakeClient()
    app = await client.create(
        WebApp(metadata={"name": "w", "namespace": "ns"}, spec=WebAppSpec(image="a"))
    )
    assert app.metadata.generation == 1
    assert app.metadata.uid
    with pytest.raises(errors.AlreadyExists):
        await client.create(app)

    app.status.ready_replicas = 2
    with_status = await client.update_status(app)
    assert with_status.metadata.generation == 1
    assert int(with_status.metadata.resourceVersion or 0) > int(app.metadata.resourceVersion or 0)

    with pytest.raises(errors.Conflict):
        await client.update(app)  # stale resourceVersion

    with_status.spec.image = "b"
    bumped = await client.update(with_status)
    assert bumped.metadata.generation == 2
    assert bumped.status.ready_replicas == 2

    patched = await client.patch(WebApp, "w", {"metadata": {"labels": {"x": "y"}}}, namespace="ns")
    assert patched.metadata.generation == 2
    assert [a.metadata.name for a in (await client.list(WebApp, label_selector="x=y")).items] == [
        "w"
    ]
    await client.delete(WebApp, "w", "ns")
    with pytest.raises(errors.NotFound):
        await client.get(WebApp, "w", "ns")
    assert [verb for verb, _, _ in client.writes] == [
        "create",
        "update_status",
        "update",
        "update",
        "delete",
    ]
