"""The dashboard in a real browser: Debian's headless Chromium against ``kubeweft run``.

One ``kubeweft run`` on the local control plane with real authentication (HS256 JWTs, no
development identity) and RBAC deciding: alice may edit WebApps in team-a and has no
access to team-b. One browser session signs in as alice with her token, then reads the
list (team-a's WebApps only), sorts and filters it by a spec field and by health (one
WebApp is blocked by a Deployment of its name that kubeweft did not create, so its
controller reports it NotOwned: not Ready, Degraded), sees a ``kubectl scale`` arrive in
the open list without a reload (the streams API), opens a detail page whose history
names her change, adds an annotation, rolls the WebApp back to generation 1 from the
timeline (confirmed in a dialog, by keyboard), and creates a WebApp through the form
(the API's field error shown next to the field, then Ready and its Events arriving live)
and deletes it after confirming. Screenshots of the list, the form's error, the detail
page and the rollback dialog are written to the directory printed at the start (set
``KUBEWEFT_TEST_ARTIFACTS`` to choose it).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.integration.auth.conftest import binding, editor_role, user
from tests.support import dashboard
from tests.support.browser import ENTER, Browser, headless_chromium
from tests.support.crds import WEBAPP_CRD, WEBAPP_CRD_NAME, install_crd
from tests.support.process import KubeweftProcess
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster]

SECRET = "e2e-dashboard-hs256-secret-" + "k" * 32
ISSUER = "kubeweft-e2e-dashboard"
AUDIENCE = "kubeweft-e2e"
#: name → (image, replicas) of team-a's WebApps.
APPS = {
    "web-a": ("nginx:1.27", 1),
    "web-b": ("nginx:1.26", 3),
    "web-c": ("httpd:2.4", 2),
    "web-d": ("nginx:1.25", 1),
}
#: The WebApp whose Deployment's name is already taken: it never becomes healthy.
BLOCKED = "web-d"
OUTSIDER = "outsider"
DEADLINE = 60.0


def token(subject: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "exp": now + 3600, "nbf": now - 5}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def webapp(namespace: str, name: str, image: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": image, "replicas": replicas},
    }


def deployment_in_the_way(namespace: str, name: str) -> dict[str, Any]:
    """A Deployment kubeweft did not create, named as a WebApp's own would be."""
    labels = {"app": f"{name}-by-hand"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }


def children_reader(namespace: str) -> dict[str, Any]:
    """Listing the kinds a WebApp owns: what the detail page asks before showing them."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "children-reader", "namespace": namespace},
        "rules": [
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]},
        ],
    }


@pytest.fixture(scope="module")
def teams(local_cluster: ClusterAccess) -> Iterator[tuple[str, str]]:
    with dashboard.teams(local_cluster, "t-ui") as (team_a, team_b):
        install_crd(local_cluster, WEBAPP_CRD, WEBAPP_CRD_NAME)
        local_cluster.apply(
            [
                editor_role(team_a),
                binding(team_a, "alice-edit", "webapp-editor", user("alice")),
                children_reader(team_a),
                binding(team_a, "alice-children", "children-reader", user("alice")),
                deployment_in_the_way(team_a, BLOCKED),  # before its WebApp
                *(webapp(team_a, name, *spec) for name, spec in APPS.items()),
                webapp(team_b, OUTSIDER, "nginx:1.27", 1),
            ]
        )
        yield team_a, team_b


@pytest.fixture(scope="module")
def server(
    local_cluster: ClusterAccess,
    teams: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KubeweftProcess]:
    env = {
        "KUBEWEFT_JWT_HS256_SECRET": SECRET,
        "KUBEWEFT_JWT_ISSUER": ISSUER,
        "KUBEWEFT_JWT_AUDIENCE": AUDIENCE,
        "KUBEWEFT_JWT_USERNAME_PREFIX": "-",
    }
    workdir = tmp_path_factory.mktemp("dashboard")
    with dashboard.dashboard_process(local_cluster, workdir, env) as process:
        yield process


@pytest.fixture(scope="module")
def base(server: KubeweftProcess, teams: tuple[str, str]) -> str:
    team_a, _ = teams
    headers = {"Authorization": f"Bearer {token('alice')}"}
    return dashboard.api_once_listed(server, team_a, APPS, headers)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dashboard.screenshots(tmp_path_factory, "dashboard-screenshots")


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[Browser]:
    with headless_chromium() as session:
        yield session


def names(browser: Browser) -> list[str]:
    return browser.texts("#table tbody td a")


def sign_in_through_the_form(browser: Browser) -> None:
    """On the sign-in page: alice's token, then the list she came for."""
    browser.find("#credential").type(token("alice"))
    browser.find("form[action='/ui/sign-in'] button").click()
    wait_until(lambda: "/ui/sign-in" not in browser.url, what="signed in")


@pytest.fixture
def signed_in(browser: Browser, base: str) -> Browser:
    """The module's browser with alice's session, whichever tests ran before: signed in
    through the form when it has none (a test run alone)."""
    browser.get(f"{base}/ui/webapps")
    if "/ui/sign-in" in browser.url:
        sign_in_through_the_form(browser)
    return browser


def test_sign_in_then_the_list_shows_only_readable_namespaces(
    browser: Browser, base: str, teams: tuple[str, str], artifacts: Path
) -> None:
    _, team_b = teams
    browser.get(f"{base}/ui/webapps")
    browser.delete_cookies()  # a browser without a session, whichever tests ran before
    browser.get(f"{base}/ui/webapps")
    assert "/ui/sign-in" in browser.url  # no session yet: the sign-in form
    sign_in_through_the_form(browser)
    wait_until(lambda: sorted(names(browser)) == sorted(APPS), what="team-a's WebApps listed")
    page = browser.texts("main")[0]
    assert OUTSIDER not in page
    assert team_b not in page
    assert "Signed in as alice" in browser.texts("header")[0]
    wait_until(
        lambda: all(h != "" for h in browser.texts("#table tbody tr td:nth-child(7)")),
        what="a health cell per row",
    )
    browser.screenshot(artifacts / "list.png")


@pytest.mark.usefixtures("signed_in")
def test_sort_and_filter_by_a_spec_field(browser: Browser, base: str) -> None:
    browser.get(f"{base}/ui/webapps")
    browser.find("#sort").select("spec.replicas")
    browser.find("#order").select("desc")
    browser.find("form.query button[type=submit]").click()
    wait_until(
        lambda: names(browser) == ["web-b", "web-c", "web-a", "web-d"],
        what="sorted by replicas, desc (equal ones by name)",
    )
    # The column headers work from the keyboard: Enter on "Desired" sorts by spec.replicas.
    browser.get(f"{base}/ui/webapps?sort=metadata.name")

    def sorted_by_enter() -> bool:
        if names(browser) == ["web-a", "web-d", "web-c", "web-b"]:
            return True
        # The table is swapped on live changes, which may take the focus with it: again.
        if "sort=metadata.name" in browser.url and browser.focus(
            "#table th a[href*='spec.replicas']"
        ):
            browser.press(ENTER)
        return False

    wait_until(sorted_by_enter, what="sorted by Enter on the Desired header")
    browser.find("#filter").type("spec.image=nginx:1.26")
    browser.find("form.query button[type=submit]").click()
    wait_until(lambda: names(browser) == ["web-b"], what="filtered by image")
    assert "sort=spec.replicas" in browser.url
    assert "filter=spec.image" in browser.url


@pytest.mark.usefixtures("signed_in")
def test_sort_and_filter_by_health(browser: Browser, base: str) -> None:
    browser.get(f"{base}/ui/webapps")
    browser.find("#sort").select("health")
    browser.find("#order").select("asc")
    browser.find("form.query button[type=submit]").click()
    # Healthy once their Deployments are ready; the blocked one stays Failing, first.
    wait_until(
        lambda: names(browser) == [BLOCKED, "web-a", "web-b", "web-c"],
        what=f"sorted by health, {BLOCKED} (NotOwned) first",
        timeout=DEADLINE,
    )
    rows = browser.texts("#table tbody tr")
    # Not Ready (0 of 1 replicas) and Degraded: 15 of 100, in words as well as colour.
    assert re.search(r"Failing\s+15\b", rows[0]), rows
    assert all(re.search(r"Healthy\s+100\b", row) for row in rows[1:]), rows
    browser.find("#filter").type("health=100")
    browser.find("form.query button[type=submit]").click()
    wait_until(lambda: names(browser) == ["web-a", "web-b", "web-c"], what="only health 100")
    assert "sort=health" in browser.url
    assert "filter=health%3D100" in browser.url


@pytest.mark.usefixtures("signed_in")
def test_a_kubectl_scale_shows_up_in_the_open_list_without_a_reload(
    browser: Browser, base: str, teams: tuple[str, str], local_cluster: ClusterAccess
) -> None:
    team_a, _ = teams
    browser.get(f"{base}/ui/webapps?sort=metadata.name")
    wait_until(lambda: browser.texts("#live") == ["live"], what="the list's stream open")
    browser.script("window.stillTheSamePage = true")  # a reload would forget it
    local_cluster.kubectl("scale", "webapp/web-c", "-n", team_a, "--replicas=5")

    def desired_of_web_c() -> str | None:
        rows = browser.script(
            "return [...document.querySelectorAll('#table tbody tr')]"
            ".map(r => [...r.cells].map(c => c.innerText))"
        )
        return next((row[3] for row in rows if row[1] == "web-c"), None)

    wait_until(lambda: desired_of_web_c() == "5", what="web-c's Desired 5 in the open list")
    assert browser.script("return window.stillTheSamePage === true")


@pytest.mark.usefixtures("signed_in")
def test_detail_history_names_who_changed_it(
    browser: Browser, base: str, teams: tuple[str, str], artifacts: Path
) -> None:
    team_a, _ = teams
    alice = {"Authorization": f"Bearer {token('alice')}"}
    api = f"{base}/api/webapps/{team_a}/web-a"
    patched = httpx.patch(api, headers=alice, json={"spec": {"replicas": 4}})
    assert patched.status_code == 200, patched.text
    wait_until(
        lambda: any(
            h["generation"] == 2 for h in httpx.get(f"{api}/history", headers=alice).json()
        ),
        what="generation 2 in the history",
        timeout=DEADLINE,
    )
    browser.get(f"{base}/ui/webapps/{team_a}/web-a")
    newest = browser.texts("#history .timeline > li")[0]
    assert "Generation 2" in newest
    assert "alice" in newest
    assert re.search(r"replace\s+/replicas\s+→\s+4", newest), newest
    assert "replicas: 4" in browser.texts("#state")[0]


@pytest.mark.usefixtures("signed_in")
def test_add_an_annotation(
    browser: Browser, base: str, teams: tuple[str, str], artifacts: Path
) -> None:
    team_a, _ = teams
    browser.get(f"{base}/ui/webapps/{team_a}/web-a")
    note = f"Scaled up for the launch ({secrets.token_hex(2)})"
    browser.find("#note").type(note)
    browser.find("#annotate button[type=submit]").click()
    wait_until(lambda: note in " ".join(browser.texts(".notes li")), what="the annotation shown")
    assert any(note in text and "alice" in text for text in browser.texts(".notes li"))
    browser.screenshot(artifacts / "detail.png")


@pytest.mark.usefixtures("signed_in")
def test_detail_shows_owned_objects_and_charts_and_follows_a_scale_live(
    browser: Browser,
    base: str,
    teams: tuple[str, str],
    local_cluster: ClusterAccess,
    artifacts: Path,
) -> None:
    team_a, _ = teams
    browser.get(f"{base}/ui/webapps/{team_a}/web-b")
    wait_until(lambda: browser.texts("#live") == ["live"], what="the detail page's stream open")

    def owned() -> list[list[str]]:
        rows = browser.script(
            "return [...document.querySelectorAll('#owned tbody tr')]"
            ".map(r => [...r.cells].map(c => c.innerText.trim()))"
        )
        return [row for row in rows if row[1] == "web-b"]

    wait_until(
        lambda: [row[0] for row in owned()] == ["Deployment", "Service"],
        what="web-b's Deployment and Service among its owned objects",
        timeout=DEADLINE,
    )
    deployment, service = owned()
    assert re.fullmatch(r"\d/3 ready.*", deployment[3]), deployment
    assert service[3].startswith("ClusterIP "), service
    # The reconciler samples ready and desired replicas: a chart per metric, 1h by default.
    wait_until(
        lambda: (
            browser.script("return document.querySelectorAll('#charts svg[role=img]').length") >= 1
        ),
        what="a metric chart",
        timeout=DEADLINE,
    )
    assert browser.texts("#charts .windows a[aria-current]") == ["1h"]
    browser.click_live("#charts .windows a[href^='?window=6h']")
    wait_until(lambda: "window=6h" in browser.url, what="the 6h window")
    wait_until(
        lambda: browser.texts("#charts .windows a[aria-current]") == ["6h"],
        what="6h chosen",
    )
    titles = browser.script(
        "return [...document.querySelectorAll('#charts svg title')].map(t => t.textContent)"
    )
    assert "desired_replicas" in titles

    browser.script("window.stillTheSamePage = true")  # a reload would forget it
    local_cluster.kubectl("scale", "webapp/web-b", "-n", team_a, "--replicas=4")
    wait_until(
        lambda: "replicas: 4" in browser.texts("#state")[0],
        what="spec.replicas 4 on the open detail page",
        timeout=DEADLINE,
    )
    wait_until(
        lambda: owned() and re.fullmatch(r"\d/4 ready.*", owned()[0][3]) is not None,
        what="the Deployment's 4 wanted replicas on the open detail page",
        timeout=DEADLINE,
    )
    assert browser.script("return window.stillTheSamePage === true")
    assert "window=6h" in browser.url
    wait_until(
        lambda: re.fullmatch(r"4/4 ready.*", owned()[0][3]) is not None,
        what="web-b's Deployment ready",
        timeout=DEADLINE,
    )
    browser.screenshot(artifacts / "detail-owned-and-charts.png")


@pytest.mark.usefixtures("signed_in")
def test_roll_back_to_a_past_generation_from_the_timeline(
    browser: Browser, base: str, teams: tuple[str, str], artifacts: Path
) -> None:
    team_a, _ = teams
    detail = f"{base}/ui/webapps/{team_a}/web-a"
    api = f"{base}/api/webapps/{team_a}/web-a"
    alice = {"Authorization": f"Bearer {token('alice')}"}
    generation = httpx.get(api, headers=alice).json()["generation"]
    if generation == 1:  # run without the history test: a generation to roll back from
        patched = httpx.patch(api, headers=alice, json={"spec": {"replicas": 4}})
        assert patched.status_code == 200, patched.text
        generation = patched.json()["generation"]
    wait_until(
        lambda: (
            {1, generation}
            <= {h["generation"] for h in httpx.get(f"{api}/history", headers=alice).json()}
        ),
        what=f"generations 1 and {generation} in the history",
        timeout=DEADLINE,
    )
    browser.get(detail)
    # By keyboard: the timeline's action opens a labelled confirmation dialog first.
    assert browser.focus("#history button[data-rollback='1']")
    browser.press(ENTER)
    wait_until(
        lambda: browser.script("return document.getElementById('rollback-dialog').open"),
        what="the confirmation dialog",
    )
    assert browser.texts("#rollback-title") == ["Roll back web-a to generation 1?"]
    browser.screenshot(artifacts / "rollback-dialog.png")
    assert browser.focus("#rollback-confirm")
    browser.press(ENTER)

    def rolled_back() -> bool:
        if httpx.get(api, headers=alice).json()["generation"] == generation + 1:
            return True
        # The reconciler's status write may have moved the ETag first (412): the dialog
        # says so and keeps the new one; confirming again is what a person does.
        if browser.texts("#rollback-error:not([hidden])") and browser.focus("#rollback-confirm"):
            browser.press(ENTER)
        return False

    rollback = generation + 1
    wait_until(rolled_back, what=f"web-a at generation {rollback}", timeout=DEADLINE)

    def rollback_entry() -> str | None:
        browser.get(detail)
        newest = browser.texts("#history .timeline > li")
        return newest[0] if newest and f"Generation {rollback}" in newest[0] else None

    newest = wait_until(
        rollback_entry, what=f"generation {rollback} in the timeline", timeout=DEADLINE
    )
    assert newest is not None
    assert "Rolled back to generation 1 by alice" in newest
    assert re.search(r"replace\s+/replicas\s+→\s+1", newest), newest
    assert "replicas: 1" in browser.texts("#state")[0]


@pytest.mark.usefixtures("signed_in")
def test_create_through_the_form_shows_the_field_error_then_becomes_ready_live(
    browser: Browser, base: str, teams: tuple[str, str], artifacts: Path
) -> None:
    team_a, _ = teams
    browser.get(f"{base}/ui/webapps")
    browser.find("a.button[href^='/ui/webapps/_new']").click()
    browser.find("#f-name").type("web-new")
    browser.find("#f-namespace").type(team_a)
    browser.find("[data-field='spec.replicas']").type("2")
    browser.find("#model-form button[type=submit]").click()  # no image
    wait_until(
        lambda: browser.texts("[data-error='spec.image']") != [""],
        what="a field error next to the image",
    )
    assert "required" in browser.texts("[data-error='spec.image']")[0].lower()
    assert browser.script("return document.activeElement.dataset.field") == "spec.image"
    browser.screenshot(artifacts / "form-error.png")
    browser.find("[data-field='spec.image']").type("nginx:1.27")
    browser.find("#model-form button[type=submit]").click()
    # The script navigates after its request: wait for the detail page itself to be loaded.
    wait_until(
        lambda: (
            browser.url.endswith(f"/ui/webapps/{team_a}/web-new")
            and browser.texts("main h1") == ["web-new"]
            and browser.script("return document.readyState") == "complete"
        ),
        what="the new detail page",
    )
    browser.script("window.stillTheSamePage = true")

    def ready() -> bool:
        rows = browser.texts("#state table tbody tr")
        return any(row.split()[:2] == ["Ready", "True"] for row in rows)

    wait_until(ready, what="Ready=True shown without a reload", timeout=DEADLINE)
    assert browser.script("return window.stillTheSamePage === true")
    wait_until(
        lambda: any("Created" in row for row in browser.texts("#events tbody tr")),
        what="the controller's Created event on the page",
        timeout=DEADLINE,
    )


@pytest.mark.usefixtures("signed_in")
def test_delete_asks_first(browser: Browser, base: str, teams: tuple[str, str]) -> None:
    team_a, _ = teams
    alice = {"Authorization": f"Bearer {token('alice')}"}
    if httpx.get(f"{base}/api/webapps/{team_a}/web-new", headers=alice).status_code == 404:
        # Run without the form's test: web-new made through the API instead.
        body = {"name": "web-new", "namespace": team_a, "spec": {"image": "nginx:1.27"}}
        created = httpx.post(f"{base}/api/webapps", headers=alice, json=body)
        assert created.status_code == 201, created.text
    browser.get(f"{base}/ui/webapps/{team_a}/web-new")
    browser.find("#delete-object").click()
    browser.accept_dialog()
    wait_until(lambda: browser.url.endswith("/ui/webapps"), what="back on the list")
    wait_until(lambda: "web-new" not in names(browser), what="web-new gone from the list")


def test_a_write_carried_by_the_cookie_needs_the_csrf_token(
    base: str, teams: tuple[str, str]
) -> None:
    team_a, _ = teams
    with httpx.Client(base_url=base) as http:
        nonce = re.search(r'name="nonce" value="([^"]+)"', http.get("/ui/sign-in").text)
        assert nonce is not None
        signed_in = http.post(
            "/ui/sign-in",
            data={"credential": token("alice"), "next": "/ui/webapps", "nonce": nonce[1]},
        )
        assert signed_in.status_code == 303
        cookie = next(
            c for c in signed_in.headers.get_list("set-cookie") if "kubeweft_session" in c
        ).lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "secure" not in cookie  # development mode: plain HTTP on loopback
        page = http.get(f"/ui/webapps/{team_a}/web-c")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
        assert csrf is not None
        path = f"/api/webapps/{team_a}/web-c/annotations"
        body = json.dumps({"body": "from a script"})
        headers = {"Content-Type": "application/json"}
        refused = http.post(path, content=body, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        accepted = http.post(path, content=body, headers={**headers, "X-CSRF-Token": csrf[1]})
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["author"] == "alice"
        signed_out = http.post("/ui/sign-out", data={"csrf": csrf[1]})
        assert signed_out.status_code == 303
        assert http.get("/ui/webapps").status_code == 303  # back to the sign-in form
