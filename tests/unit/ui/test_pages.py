"""The dashboard's pages over the REST app's in-memory fakes: what each page shows to whom."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from kubeweft.api import ObjectMeta
from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec, WebAppStatus
from kubeweft.settings import Settings
from kubeweft.ui import install_dashboard
from kubeweft.views.records import HistoryEntry
from tests.support.models import Zone, ZoneSpec
from tests.unit.rest.conftest import RecordingAuthorizer, build

pytestmark = pytest.mark.anyio

#: (namespace, name, image, replicas)
APPS = [
    ("team-a", "web-a", "nginx:1.27", 1),
    ("team-a", "web-b", "nginx:1.26", 3),
    ("team-a", "web-c", "httpd:2.4", 2),
    ("team-b", "outsider", "nginx:1.27", 9),
]


@pytest.fixture
async def ui() -> AsyncIterator[tuple[httpx.AsyncClient, RecordingAuthorizer]]:
    settings = Settings(dev_user="alice")
    app, kube, _store, authorizer, context = build(settings, models=(WebApp, Zone))
    for namespace, name, image, replicas in APPS:
        await kube.create(
            WebApp(
                metadata=ObjectMeta(name=name, namespace=namespace),
                spec=WebAppSpec(image=image, replicas=replicas),
            )
        )
    await kube.create(Zone(metadata=ObjectMeta(name="eu-west"), spec=ZoneSpec(capacity=4)))
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http, authorizer


def names(page: httpx.Response) -> list[str]:
    return re.findall(
        r'<a href="/ui/[a-z]+/(?:[a-z0-9-]+/)?[a-z0-9-]+">([a-z0-9-]+)</a>', page.text
    )


async def test_the_development_identity_opens_signed_in(
    ui: tuple[httpx.AsyncClient, RecordingAuthorizer],
) -> None:
    http, _ = ui
    page = await http.get("/ui/webapps")
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.text
    assert names(page) == ["outsider", "web-a", "web-b", "web-c"]


async def test_the_list_shows_only_namespaces_the_caller_may_list_in(
    ui: tuple[httpx.AsyncClient, RecordingAuthorizer],
) -> None:
    http, authorizer = ui
    authorizer.deny |= {("list", None), ("list", "team-b")}
    page = await http.get("/ui/webapps", params={"sort": "spec.replicas", "order": "desc"})
    assert names(page) == ["web-b", "web-c", "web-a"]
    assert "outsider" not in page.text
    refused = await http.get("/ui/webapps", params={"namespace": "team-b"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")  # a page, for a person
    assert "alice may not list webapps.kubeweft.dev in namespace team-b" in refused.text


async def test_sort_filter_and_search_on_declared_fields(
    ui: tuple[httpx.AsyncClient, RecordingAuthorizer],
) -> None:
    http, _ = ui
    by_replicas = await http.get("/ui/webapps", params={"sort": "spec.replicas"})
    assert names(by_replicas) == ["web-a", "web-c", "web-b", "outsider"]
    nginx = await http.get(
        "/ui/webapps", params={"filter": "spec.image=nginx:1.27", "sort": "metadata.name"}
    )
    assert names(nginx) == ["outsider", "web-a"]
    searched = await http.get("/ui/webapps", params={"q": "TEAM-A/WEB-"})
    assert names(searched) == ["web-a", "web-b", "web-c"]
    unknown = await http.get("/ui/webapps", params={"sort": "spec.nonsense"})
    assert unknown.status_code == 400
    assert "&#39;spec.nonsense&#39; is not a field of this model" in unknown.text


async def test_a_cluster_scoped_model_has_a_list_and_a_detail_without_namespace(
    ui: tuple[httpx.AsyncClient, RecordingAuthorizer],
) -> None:
    http, authorizer = ui
    listed = await http.get("/ui/zones")
    assert names(listed) == ["eu-west"]
    assert "Namespace" not in listed.text
    detail = await http.get("/ui/zones/eu-west")
    assert detail.status_code == 200
    assert "capacity: 4" in detail.text
    asked = [(a.verb, a.resource, a.namespace, a.name) for a in authorizer.asked]
    assert ("get", "zones", None, "eu-west") in asked
    assert (await http.get("/ui/zones/a/b")).status_code == 404


async def test_sign_in_sets_a_strict_cookie_and_writes_need_its_csrf_token() -> None:
    settings = Settings(dev_user="alice", mode="development")
    app, kube, _store, _authorizer, context = build(settings)
    await kube.create(
        WebApp(metadata=ObjectMeta(name="w", namespace="n"), spec=WebAppSpec(image="x"))
    )
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        forged = await http.post("/ui/sign-in", data={"credential": "token", "next": "/ui"})
        assert forged.status_code == 403  # login CSRF: no nonce from our own form
        assert "set-cookie" not in forged.headers or "kubeweft_session" not in str(
            forged.headers.get_list("set-cookie")
        )
        form = await http.get("/ui/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce is not None
        wrong = await http.post(
            "/ui/sign-in", data={"credential": "token", "next": "/ui", "nonce": "x" + nonce[1]}
        )
        assert wrong.status_code == 403
        form = await http.get("/ui/sign-in")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
        assert nonce is not None
        signed_in = await http.post(
            "/ui/sign-in", data={"credential": "token", "next": "//evil", "nonce": nonce[1]}
        )
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/ui"  # never off-site
        cookie = next(c for c in signed_in.headers.get_list("set-cookie") if "session" in c)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        page = await http.get("/ui/webapps/n/w")
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert token is not None
        body = {"body": "note"}
        assert (await http.post("/api/webapps/n/w/annotations", json=body)).status_code == 403
        wrong = {"X-CSRF-Token": "0" * 64}
        assert (
            await http.post("/api/webapps/n/w/annotations", json=body, headers=wrong)
        ).status_code == 403
        right = {"X-CSRF-Token": token[1]}
        added = await http.post("/api/webapps/n/w/annotations", json=body, headers=right)
        assert added.status_code == 201
        # A request bringing its own credentials is not the cookie's: no token needed.
        bearer = {"Authorization": "Bearer other"}
        own = await http.post("/api/webapps/n/w/annotations", json=body, headers=bearer)
        assert own.status_code == 201
        stale = await http.post("/ui/sign-out", data={"csrf": "0"})
        assert stale.status_code == 403
        out = await http.post("/ui/sign-out", data={"csrf": token[1]})
        assert out.status_code == 303
        assert "Max-Age=0" in out.headers["set-cookie"]


async def sign_in(http: httpx.AsyncClient, credential: str) -> None:
    form = await http.get("/ui/sign-in")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    data = {"credential": credential, "next": "/ui", "nonce": nonce[1]}
    assert (await http.post("/ui/sign-in", data=data)).status_code == 303


def csrf_and_total(page: httpx.Response) -> tuple[str, str]:
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    total = re.search(r'<span id="total" data-live>(\d+)</span>', page.text)
    assert token is not None, page.text
    assert total is not None, page.text
    return token[1], total[1]


async def test_a_table_page_asked_again_is_the_asking_sessions_and_shows_what_changed() -> None:
    """The page around the rows is kept between requests (``ui.table_chrome``): asked
    again, it carries the asking session's CSRF token and the new total and rows."""
    settings = Settings(dev_user="alice", mode="development")
    app, kube, _store, _authorizer, context = build(settings)
    await kube.create(
        WebApp(metadata=ObjectMeta(name="w", namespace="n"), spec=WebAppSpec(image="x"))
    )
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    first, second = (httpx.AsyncClient(transport=transport, base_url="http://t") for _ in "12")
    async with first, second:
        await sign_in(first, "token")
        await sign_in(second, "token")
        asked = {"sort": "spec.replicas"}
        token, total = csrf_and_total(await first.get("/ui/webapps", params=asked))
        assert total == "1"
        other, _ = csrf_and_total(await second.get("/ui/webapps", params=asked))
        detail = await second.get("/ui/webapps/n/w")
        assert other != token
        assert f'name="csrf-token" content="{other}"' in detail.text  # its own session's
        await kube.create(
            WebApp(metadata=ObjectMeta(name="v", namespace="n"), spec=WebAppSpec(image="x"))
        )
        again = await first.get("/ui/webapps", params=asked)
        assert csrf_and_total(again) == (token, "2")
        assert names(again) == ["v", "w"]


async def test_create_and_edit_forms_come_from_the_spec_class(
    ui: tuple[httpx.AsyncClient, RecordingAuthorizer],
) -> None:
    http, _ = ui
    new = await http.get("/ui/webapps/_new", params={"namespace": "team-a"})
    assert new.status_code == 200
    for path, kind in [
        ("spec.image", "string"),
        ("spec.replicas", "integer"),
        ("spec.ports", "json"),
        ("spec.env", "json"),
    ]:
        assert f'<label for="f-{path}">' in new.text  # every control has its label
        assert f'data-field="{path}" data-kind="{kind}"' in new.text
        assert f'data-error="{path}"' in new.text  # where the API's field error goes
    assert 'value="1"' in new.text  # the spec's defaults (replicas)
    assert "&#34;port&#34;: 8080" in new.text  # ports, as JSON
    assert 'data-method="POST" data-action="/api/webapps"' in new.text.replace("\n      ", " ")
    edit = await http.get("/ui/webapps/_edit/team-a/web-b")
    assert edit.status_code == 200
    assert 'value="nginx:1.26"' in edit.text
    assert 'data-action="/api/webapps/team-a/web-b"' in edit.text
    assert re.search(r'data-etag="&#34;\d+&#34;"', edit.text)
    zone = await http.get("/ui/zones/_edit/eu-west")
    assert 'data-field="spec.capacity" data-kind="integer" value="4"' in zone.text
    assert 'id="f-namespace"' not in zone.text
    assert (await http.get("/ui/webapps/_edit/team-a/nope")).status_code == 404


async def test_sort_and_filter_by_health() -> None:
    settings = Settings(dev_user="alice")
    app, kube, _store, _authorizer, context = build(settings)
    for name, ready in [("half", 1), ("whole", 2), ("none", 0)]:
        await kube.create(
            WebApp(
                metadata=ObjectMeta(name=name, namespace="n"),
                spec=WebAppSpec(image="x", replicas=2),
                status=WebAppStatus(ready_replicas=ready),
            )
        )
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        page = await http.get("/ui/webapps", params={"sort": "health", "order": "desc"})
        assert names(page) == ["whole", "half", "none"]
        scores = [int(s) for s in re.findall(r'<span class="score">(\d+)</span>', page.text)]
        assert scores == sorted(scores, reverse=True)
        assert len(set(scores)) == 3
        best = await http.get("/ui/webapps", params={"filter": f"health={scores[0]}"})
        assert names(best) == ["whole"]


async def test_a_past_generation_can_be_restored_and_any_two_compared() -> None:
    settings = Settings(dev_user="alice")
    app, kube, store, _authorizer, context = build(settings)
    created = await kube.create(
        WebApp(metadata=ObjectMeta(name="w", namespace="n"), spec=WebAppSpec(image="new:2"))
    )
    now = datetime.now(UTC)
    store.history_rows[created.metadata.uid] = [
        HistoryEntry(2, {"image": "new:2", "replicas": 1}, [], "bob", "reconciler", now),
        HistoryEntry(1, {"image": "old:1", "replicas": 3}, None, "alice", "reconciler", now),
    ]
    transport = httpx.ASGITransport(app=install_dashboard(app, settings, context))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        detail = await http.get("/ui/webapps/n/w")
        assert detail.text.count("?generation=") == 1  # every past generation, not the current
        assert 'href="/ui/webapps/_edit/n/w?generation=1"' in detail.text
        form = await http.get("/ui/webapps/_edit/n/w", params={"generation": "1"})
        assert form.status_code == 200
        assert "<h1>Restore generation 1 of w</h1>" in form.text
        assert 'data-field="spec.image" data-kind="string" value="old:1"' in form.text
        assert 'data-field="spec.replicas" data-kind="integer" value="3"' in form.text
        assert 'data-method="PATCH"' in form.text  # guarded by the current ETag
        missing = await http.get("/ui/webapps/_edit/n/w", params={"generation": "7"})
        assert missing.status_code == 404
        # Any two generations compare; the patch between them is computed on the way.
        assert '<label for="compare-from">' in detail.text
        compared = await http.get("/ui/webapps/_compare/n/w", params={"from": "1", "to": "2"})
        assert compared.status_code == 200
        ops = re.findall(
            r'<code class="op op-(\w+)">\w+</code> <code>([^<]+)</code>', compared.text
        )
        assert sorted(ops) == [("replace", "/image"), ("replace", "/replicas")]
        assert "by alice" in compared.text
        assert "by bob" in compared.text
        unknown = await http.get("/ui/webapps/_compare/n/w", params={"from": "1", "to": "9"})
        assert unknown.status_code == 404
