"""Sign in to the dashboard with an OpenID Connect issuer, in a real browser, against
``kubeweft run`` on the local control plane with RBAC deciding.

The issuer is the test issuer (tests/support/oidc_issuer.py) on a loopback port, named
``localhost`` while the dashboard is browsed at ``127.0.0.1``: two different sites, so
the issuer's redirect back is a cross-site navigation as in production, and the
SameSite handling of the flow and session cookies is exercised for real. The process
maps names as kube-apiserver would with ``--oidc-username-prefix=oidc:
--oidc-groups-claim=groups --oidc-groups-prefix=oidc:``; RBAC lets the group
``oidc:team-a`` edit WebApps in team-a only. Debian's headless Chromium signs in through
the issuer's page and reads the list; the REST API takes the issuer's ID tokens too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubeweft.localcluster.access import ClusterAccess
from tests.integration.auth.conftest import binding, editor_role
from tests.support import dashboard
from tests.support.browser import Browser, headless_chromium
from tests.support.oidc_issuer import TestIssuer, serving
from tests.support.process import KubeweftProcess
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcluster]

CLIENT_ID = "kubeweft-dashboard"
CLIENT_SECRET = "e2e-oidc-client-secret"
APPS = ("oidc-web-a", "oidc-web-b")
OUTSIDER = "oidc-outsider"


def webapp(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeweft.dev/v1",
        "kind": "WebApp",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"image": "nginx:1.27", "replicas": 1},
    }


def group(name: str) -> dict[str, str]:
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


@pytest.fixture(scope="module")
def teams(local_cluster: ClusterAccess) -> Iterator[tuple[str, str]]:
    with dashboard.teams(local_cluster, "t-oidc") as (team_a, team_b):
        local_cluster.apply(
            [
                editor_role(team_a),
                binding(team_a, "team-a-edit", "webapp-editor", group("oidc:team-a")),
            ]
        )
        yield team_a, team_b


@pytest.fixture(scope="module")
def issuer() -> Iterator[TestIssuer]:
    idp = TestIssuer("", CLIENT_ID, CLIENT_SECRET, users={"alice": {"groups": ["team-a"]}})
    with serving(idp) as port:
        idp.url = f"http://localhost:{port}"  # another site than 127.0.0.1
        yield idp


@pytest.fixture(scope="module")
def server(
    local_cluster: ClusterAccess,
    teams: tuple[str, str],
    issuer: TestIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[KubeweftProcess]:
    workdir = tmp_path_factory.mktemp("dashboard-oidc")
    secret_file = workdir / "client-secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    env = {
        "KUBEWEFT_OIDC_ISSUER_URL": issuer.url,
        "KUBEWEFT_OIDC_CLIENT_ID": CLIENT_ID,
        "KUBEWEFT_OIDC_CLIENT_SECRET_FILE": str(secret_file),
        "KUBEWEFT_OIDC_SCOPES": '["openid", "groups"]',
        "KUBEWEFT_OIDC_USERNAME_PREFIX": "oidc:",
        "KUBEWEFT_OIDC_GROUPS_CLAIM": "groups",
        "KUBEWEFT_OIDC_GROUPS_PREFIX": "oidc:",
    }
    with dashboard.dashboard_process(local_cluster, workdir, env) as process:
        yield process


@pytest.fixture(scope="module")
def base(
    server: KubeweftProcess,
    teams: tuple[str, str],
    issuer: TestIssuer,
    local_cluster: ClusterAccess,
) -> str:
    team_a, team_b = teams
    # Created once the process has installed the CRD (and serves any conversion).
    local_cluster.apply([*(webapp(team_a, name) for name in APPS), webapp(team_b, OUTSIDER)])
    headers = {"Authorization": f"Bearer {issuer.id_token('alice')}"}
    return dashboard.api_once_listed(server, team_a, APPS, headers)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dashboard.screenshots(tmp_path_factory, "dashboard-oidc-screenshots")


def names(browser: Browser) -> list[str]:
    return browser.texts("#table tbody td a")


def test_an_issuer_down_is_named_on_the_sign_in_page(base: str, issuer: TestIssuer) -> None:
    # First in the module: the process has not asked for discovery yet (and started
    # without it); its ID-token keys were fetched by ``base`` and stay cached.
    issuer.down = True
    try:
        page = httpx.get(f"{base}/ui/sign-in/oidc", params={"next": "/ui/webapps"})
    finally:
        issuer.down = False
    assert page.status_code == 502
    assert f"could not be reached: {issuer.url}/.well-known/openid-configuration" in page.text
    assert 'id="credential"' in page.text  # the other ways in still work
    # Failures are not remembered: with the issuer back, the sign-in starts.
    again = httpx.get(f"{base}/ui/sign-in/oidc")
    assert again.status_code == 303
    assert again.headers["location"].startswith(f"{issuer.url}/authorize?")


def test_sign_in_with_the_issuer_then_the_list_shows_only_readable_namespaces(
    base: str, teams: tuple[str, str], issuer: TestIssuer, artifacts: Path
) -> None:
    _, team_b = teams
    with headless_chromium() as browser:
        browser.get(f"{base}/ui/webapps")
        wait_until(lambda: "/ui/sign-in" in browser.url, what="the sign-in page")
        host = issuer.url.removeprefix("http://")
        assert browser.find("#sign-in-oidc").text == f"Sign in with {host}"
        browser.screenshot(artifacts / "sign-in-oidc.png")
        browser.find("#sign-in-oidc").click()
        wait_until(lambda: browser.url.startswith(f"{issuer.url}/authorize?"), what="the issuer")
        browser.find("#username").type("alice")
        browser.find("#approve").click()
        wait_until(lambda: sorted(names(browser)) == sorted(APPS), what="team-a's WebApps")
        assert browser.url == f"{base}/ui/webapps"
        page = browser.texts("main")[0]
        assert OUTSIDER not in page
        assert team_b not in page
        assert "Signed in as oidc:alice" in browser.texts("header")[0]
        browser.screenshot(artifacts / "signed-in-with-oidc.png")
        browser.find("header .who form button").click()
        wait_until(lambda: browser.find_all("#sign-in-oidc") != [], what="signed out")
        browser.get(f"{base}/ui/webapps")
        wait_until(lambda: "/ui/sign-in" in browser.url, what="the sign-in page again")


def test_the_api_takes_the_issuers_id_tokens(
    base: str, teams: tuple[str, str], issuer: TestIssuer
) -> None:
    team_a, team_b = teams
    alice = {"Authorization": f"Bearer {issuer.id_token('alice')}"}
    assert httpx.get(f"{base}/api/webapps/{team_a}", headers=alice).status_code == 200
    refused = httpx.get(f"{base}/api/webapps/{team_b}", headers=alice)
    assert refused.status_code == 403
    assert "oidc:alice" in refused.json()["detail"]
    expired = issuer.id_token("alice", exp=int(time.time()) - 600)
    answer = httpx.get(
        f"{base}/api/webapps/{team_a}", headers={"Authorization": f"Bearer {expired}"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_stray_or_refused_answer_gives_the_sign_in_page(base: str) -> None:
    callback = f"{base}/ui/sign-in/oidc/callback"
    stray = httpx.get(callback, params={"state": "A" * 43, "code": "stolen"})
    assert stray.status_code == 400
    assert "does not belong to a sign-in started in this browser" in stray.text
    assert 'id="sign-in-oidc"' in stray.text
    refused = httpx.get(callback, params={"error": "access_denied", "state": "x"})
    assert refused.status_code == 401
    assert "did not sign you in: access_denied" in refused.text
