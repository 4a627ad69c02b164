"""An informer facing objects its model rejects (schema skew), on the real API server.

During a CRD rollout or rollback the API server can serve objects the operator's model
does not accept: here the CRD's schema is looser than the model (any ``spec``), so
the server stores a Gadget with ``replicas: "three"`` or without ``image``. Such an
object must be skipped — logged and counted in
``kubeweft_informer_decode_errors_total`` — while the informer goes on listing and
watching, caches the good objects and feeds them to a controller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
import yaml
from pydantic import Field

from kubeweft.api import CustomResource, ModelInfo
from kubeweft.api.model import ResourceModel
from kubeweft.codegen.crd import crd_for
from kubeweft.localcluster.access import ClusterAccess
from kubeweft.runtime import handler, metrics, source
from kubeweft.runtime.cache import Cache, CacheOptions
from kubeweft.runtime.client import Client
from kubeweft.runtime.controller import Controller
from kubeweft.runtime.informer import InformerOptions
from kubeweft.runtime.reconcile import Request, Result, reconciler_func
from tests.support.crds import install_crd
from tests.support.waiting import wait_until_async

pytestmark = [pytest.mark.localcluster, pytest.mark.anyio]


class GadgetSpec(ResourceModel):
    image: str = Field(min_length=1)
    replicas: int = 1


class Gadget(CustomResource):
    """A test-only kind whose served schema will be looser than this model."""

    model_info = ModelInfo(group="skew.kubeweft.dev", version="v1", kind="Gadget", plural="gadgets")
    spec: GadgetSpec


@pytest.fixture(scope="module")
def loose_gadget_crd(local_cluster: ClusterAccess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Gadget CRD with ``spec`` free-form: the server accepts what the model rejects."""
    crd = crd_for(Gadget)
    for version in crd["spec"]["versions"]:
        properties = version["schema"]["openAPIV3Schema"]["properties"]
        properties["spec"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        version["schema"]["openAPIV3Schema"].pop("required", None)
    path = tmp_path_factory.mktemp("crd") / "gadgets.yaml"
    path.write_text(yaml.safe_dump(crd))
    install_crd(local_cluster, path, Gadget.model_info.crd_name)
    return Gadget.model_info.crd_name


@pytest.fixture
async def client(local_cluster: ClusterAccess) -> AsyncIterator[Client]:
    async with Client.from_kubeconfig(local_cluster.kubeconfig_path) as c:
        yield c


def decode_errors() -> float:
    value = metrics.REGISTRY.get_sample_value(
        "kubeweft_informer_decode_errors_total", {"kind": "Gadget"}
    )
    return value or 0.0


async def test_undecodable_objects_are_skipped_and_counted_and_the_informer_goes_on(
    local_cluster: ClusterAccess, loose_gadget_crd: str, client: Client, namespace: str
) -> None:
    base = f"/apis/skew.kubeweft.dev/v1/namespaces/{namespace}/gadgets"

    def put(name: str, spec: dict[str, Any], *, method: str = "POST") -> None:
        body = {"apiVersion": "skew.kubeweft.dev/v1", "kind": "Gadget"}
        with local_cluster.http() as http:
            if method == "POST":
                body["metadata"] = {"name": name, "namespace": namespace}
                http.post(base, json={**body, "spec": spec}).raise_for_status()
            else:
                current = http.get(f"{base}/{name}").json()
                current["spec"] = spec
                http.put(f"{base}/{name}", json=current).raise_for_status()

    # Before the informer starts: the initial list holds a bad object.
    put("good-listed", {"image": "nginx:1"})
    put("bad-listed", {"image": "nginx:1", "replicas": "three"})
    counted_before = decode_errors()

    reconciled: set[str] = set()

    async def reconcile(request: Request) -> Result:
        reconciled.add(request.name)
        return Result()

    cache = Cache(client, CacheOptions(defaults=InformerOptions(namespace=namespace)))
    informer = cache.informer_for(Gadget)
    controller = Controller("skew-gadgets", reconciler_func(reconcile))
    controller.watch(source.Kind(cache, Gadget, handler.EnqueueRequestForObject()))
    with anyio.fail_after(90):
        async with anyio.create_task_group() as tg:
            await tg.start(cache.run)
            await tg.start(controller.run)
            assert informer.get(namespace, "good-listed") is not None
            assert informer.get(namespace, "bad-listed") is None
            assert decode_errors() == counted_before + 1

            # While watching: a bad object arrives, then a good one after it.
            put("bad-watched", {"replicas": 2})  # no image
            put("good-watched", {"image": "nginx:2"})
            await wait_until_async(
                _async(lambda: _cached(informer, namespace)),
                what="the good object created after the bad one to be cached",
                accept=lambda names: "good-watched" in names,
            )
            assert decode_errors() == counted_before + 2
            await wait_until_async(
                _async(lambda: reconciled),
                what="both good objects reconciled",
                accept=lambda names: {"good-listed", "good-watched"} <= names,
            )
            assert not reconciled & {"bad-listed", "bad-watched"}

            # A cached object turning bad keeps its last good version; deleting it
            # still removes it from the cache.
            put("good-listed", {"image": ""}, method="PUT")
            put("good-watched", {"image": "nginx:3"}, method="PUT")
            await wait_until_async(
                _async(lambda: _image(informer, namespace, "good-watched")),
                what="the later good update to be cached",
                accept=lambda image: image == "nginx:3",
            )
            assert _image(informer, namespace, "good-listed") == "nginx:1"
            assert decode_errors() == counted_before + 3
            with local_cluster.http() as http:
                http.delete(f"{base}/good-listed").raise_for_status()
            await wait_until_async(
                _async(lambda: _cached(informer, namespace)),
                what="the deleted object to leave the cache",
                accept=lambda names: "good-listed" not in names,
            )
            tg.cancel_scope.cancel()


def _async(fn: Any) -> Any:
    async def check() -> Any:
        return fn()

    return check


def _cached(informer: Any, namespace: str) -> set[str]:
    return {obj.metadata.name for obj in informer.list(namespace)}


def _image(informer: Any, namespace: str, name: str) -> str | None:
    obj = informer.get(namespace, name)
    return None if obj is None else obj.spec.image
