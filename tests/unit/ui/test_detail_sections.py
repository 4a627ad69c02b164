"""The detail page's owned objects and metric charts, over the REST app's fakes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from lightkube.models.apps_v1 import DeploymentSpec, DeploymentStatus
from lightkube.models.core_v1 import PodTemplateSpec, ServicePort, ServiceSpec
from lightkube.models.meta_v1 import LabelSelector, OwnerReference
from lightkube.models.meta_v1 import ObjectMeta as KubeMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.api import ObjectMeta
from kubeweft.auth.identity import Decision, Identity, ResourceAttributes
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard
from kubeweft.views.owned import OwnedObjects
from kubeweft.views.records import MetricBucket
from tests.unit.rest.conftest import RecordingAuthorizer, build
from tests.unit.rest.fakes import CachedFakeClient, FakeCache, FakeStore

pytestmark = pytest.mark.anyio


class KindAuthorizer(RecordingAuthorizer):
    """Also refuses every verb on the resources in ``deny_resources``."""

    def __init__(self) -> None:
        super().__init__()
        self.deny_resources: set[str] = set()

    async def authorize(self, identity: Identity, attributes: ResourceAttributes) -> Decision:
        if attributes.resource in self.deny_resources:
            self.asked.append(attributes)
            return Decision(False, "test")
        return await super().authorize(identity, attributes)


@dataclass
class Page:
    http: httpx.AsyncClient
    authorizer: KindAuthorizer
    store: FakeStore
    uid: str


def _owner(app: WebApp) -> OwnerReference:
    return OwnerReference(
        apiVersion=WebApp.model_info.api_version,
        kind="WebApp",
        name=app.metadata.name,
        uid=app.metadata.uid or "",
        controller=True,
    )


async def _deployment(
    kube: CachedFakeClient, name: str, owner: OwnerReference | None, ready: int
) -> None:
    await kube.create(
        Deployment(
            metadata=KubeMeta(
                name=name, namespace="team-a", ownerReferences=[owner] if owner else None
            ),
            spec=DeploymentSpec(replicas=3, selector=LabelSelector(), template=PodTemplateSpec()),
            status=DeploymentStatus(readyReplicas=ready, updatedReplicas=3),
        )
    )


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    settings = Settings(dev_user="alice")
    app, kube, store, _authorizer, context = build(settings)
    authorizer = context.authorizer = KindAuthorizer()
    context.owned = OwnedObjects(FakeCache(kube), {WebApp: (Deployment, Service)})
    web = await kube.create(
        WebApp(
            metadata=ObjectMeta(name="web", namespace="team-a"),
            spec=WebAppSpec(image="nginx:1.27", replicas=3),
        )
    )
    await _deployment(kube, "web", _owner(web), ready=2)
    await _deployment(kube, "stranger", None, ready=3)  # same namespace, not owned
    await kube.create(
        Service(
            metadata=KubeMeta(name="web", namespace="team-a", ownerReferences=[_owner(web)]),
            spec=ServiceSpec(clusterIP="10.0.0.7", ports=[ServicePort(port=80)]),
        )
    )
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield Page(http, authorizer, store, web.metadata.uid or "")


def owned_rows(text: str) -> list[list[str]]:
    section = text.split('id="owned"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td></tr>", section)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td><td>")] for row in rows
    ]


async def test_owned_objects_are_listed_with_their_state(page: Page) -> None:
    detail = await page.http.get("/ui/webapps/team-a/web")
    assert detail.status_code == 200
    assert owned_rows(detail.text) == [
        ["Deployment", "web", "✗ Not ready", "2/3 ready"],
        ["Service", "web", "✓ Ready", "ClusterIP 10.0.0.7 80/TCP"],
    ]
    assert "stranger" not in detail.text


async def test_a_kind_the_caller_may_not_list_is_named_not_shown(page: Page) -> None:
    page.authorizer.deny_resources.add("deployments")
    detail = await page.http.get("/ui/webapps/team-a/web")
    assert [row[0] for row in owned_rows(detail.text)] == ["Service"]
    assert "Not shown: deployments.apps" in detail.text
    asked = [(a.verb, a.group, a.resource, a.namespace) for a in page.authorizer.asked]
    assert ("list", "apps", "deployments", "team-a") in asked
    assert ("list", "", "services", "team-a") in asked


async def test_the_owned_sub_resource_answers_the_same(page: Page) -> None:
    page.authorizer.deny_resources.add("services")
    body = (await page.http.get("/api/webapps/team-a/web/owned")).json()
    assert body["hidden"] == ["services"]
    assert [(o["kind"], o["name"], o["ready"], o["summary"]) for o in body["items"]] == [
        ("Deployment", "web", False, "2/3 ready")
    ]
    assert body["items"][0]["apiVersion"] == "apps/v1"
    missing = await page.http.get("/api/webapps/team-a/nobody/owned")
    assert missing.status_code == 404


async def test_charts_draw_the_chosen_window_with_a_text_alternative(page: Page) -> None:
    page.store.buckets[page.uid] = {
        "ready_replicas": [MetricBucket(0, 1, 2, 1.5, 4), MetricBucket(30, 3, 3, 3, 1)]
    }
    detail = await page.http.get("/ui/webapps/team-a/web", params={"window": "7d"})
    assert page.store.bucket_reads[-1] == (page.uid, timedelta(days=7), 60)
    section = detail.text.split('id="charts"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<a href="\?window=7d#charts" aria-current="true">7d</a>', section)
    assert section.count("aria-current") == 1
    svg = re.search(r"<svg [^>]*role=\"img\"[^>]*>.*?</svg>", section, re.S)
    assert svg is not None
    assert '<title id="chart-ready-replicas-t">ready_replicas</title>' in svg.group(0)
    assert "first 1.5, last 3, lowest 1, highest 3." in svg.group(0)  # its description
    cells = re.findall(r'<td class="num">([^<]*)</td>', section)
    assert cells == ["1", "1.5", "2", "4", "3", "3", "3", "1"]  # the table beside it

    unknown = await page.http.get("/ui/webapps/team-a/web", params={"window": "1y"})
    assert unknown.status_code == 200
    assert page.store.bucket_reads[-1] == (page.uid, timedelta(hours=1), 60)


async def test_no_samples_says_so(page: Page) -> None:
    detail = await page.http.get("/ui/webapps/team-a/web", params={"window": "24h"})
    assert "No metric samples in the last 24h." in detail.text
    assert "<svg" not in detail.text
