"""``kubeweft create webhook`` wires the project's ``config/`` so that ``kubectl apply -k
config/default`` (or ``config/cert-manager``) serves the webhooks with nothing added by
hand: checked on what ``kubectl kustomize`` (the local control plane's kubectl) builds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from kubeweft.cli import app
from kubeweft.localcluster.build import BinariesUnavailable, find_binaries
from kubeweft.localcluster.pytest_plugin import unavailable
from kubeweft.settings import Settings

STORE = ["--group", "shop", "--version", "v1alpha1", "--kind", "Store"]
WEBHOOK = ["create", "webhook", "--version", "v1alpha1", "--kind", "Store"]
SERVICE = {"name": "shop-webhook-service", "namespace": "shop-system"}
APP_CHECK = ["shop.app:app", "--check"]
CONFIGURATIONS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def kubeweft(*args: str) -> str:
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def kubectl() -> Path:
    try:
        return find_binaries().kubectl
    except BinariesUnavailable as error:
        unavailable(f"kubectl of the local control plane unavailable: {error}")


def kustomize(kubectl: Path, directory: Path) -> list[dict[str, Any]]:
    built = subprocess.run(
        [str(kubectl), "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in docs if doc["kind"] == kind]
    return found


def manager(docs: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = one(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def env(container: dict[str, Any]) -> dict[str, str]:
    names = [entry["name"] for entry in container["env"]]
    assert len(names) == len(set(names)), names
    return {entry["name"]: entry.get("value", "") for entry in container["env"]}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, kubectl: Path) -> Path:
    """A project with a Store and its webhooks; config/default built before the webhooks
    serves none (the lines init left commented out are inert)."""
    root = tmp_path_factory.mktemp("shop")
    kubeweft("init", "shop", "--domain", "example.com", "--dir", str(root))
    kubeweft("create", "api", *STORE, "--dir", str(root))
    before = kustomize(kubectl, root / "config" / "default")
    assert not [doc for doc in before if doc["kind"] in CONFIGURATIONS]
    assert "KUBEWEFT_WEBHOOK_CERTIFICATES" not in env(manager(before))
    said = kubeweft(*WEBHOOK, "--defaulting", "--validation", "--dir", str(root))
    assert "changed config/default/kustomization.yaml" in said
    assert "does not take in ../webhook" not in said
    return root


@pytest.mark.localcluster  # runs the local control plane's kubectl
def test_config_default_serves_the_webhooks_with_a_certificate_kept_in_a_secret(
    shop: Path, kubectl: Path
) -> None:
    docs = kustomize(kubectl, shop / "config" / "default")
    container = manager(docs)
    assert {"name": "webhook-server", "containerPort": 9443, "protocol": "TCP"} in container[
        "ports"
    ]
    assert env(container)["KUBEWEFT_WEBHOOK_PORT"] == "9443"
    assert env(container)["KUBEWEFT_WEBHOOK_HOST"] == "0.0.0.0"
    assert env(container)["KUBEWEFT_WEBHOOK_CERTIFICATES"] == "secret"
    service = one(docs, "Service")
    assert {"name": service["metadata"]["name"], "namespace": "shop-system"} == SERVICE
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["webhook-server"]
    for kind in CONFIGURATIONS:
        (webhook,) = one(docs, kind)["webhooks"]
        assert {k: webhook["clientConfig"]["service"][k] for k in SERVICE} == SERVICE
        (expression,) = webhook["namespaceSelector"]["matchExpressions"]
        assert expression["values"] == ["kube-system", "shop-system"]
    secret_rules = [
        rule
        for doc in docs
        if doc["kind"] == "Role"
        for rule in doc["rules"]
        if rule["resources"] == ["secrets"] and "resourceNames" in rule
    ]
    assert [rule["resourceNames"] for rule in secret_rules] == [["shop-webhook-server-cert"]]


@pytest.mark.localcluster  # runs the local control plane's kubectl
def test_config_cert_manager_mounts_an_issued_certificate_and_injects_its_ca(
    shop: Path, kubectl: Path
) -> None:
    docs = kustomize(kubectl, shop / "config" / "cert-manager")
    certificate = one(docs, "Certificate")
    assert "shop-webhook-service.shop-system.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"]["name"] == one(docs, "Issuer")["metadata"]["name"]
    issued = f"{certificate['metadata']['namespace']}/{certificate['metadata']['name']}"
    for kind in CONFIGURATIONS:
        annotations = one(docs, kind)["metadata"]["annotations"]
        assert annotations == {"cert-manager.io/inject-ca-from": issued}
    container = manager(docs)
    assert env(container)["KUBEWEFT_WEBHOOK_CERTIFICATES"] == "files"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "webhook-cert"]
    assert Path(mount["mountPath"]) == Settings.model_fields["webhook_cert_dir"].default
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "webhook-cert"]
    assert volume["secret"]["secretName"] == certificate["spec"]["secretName"]


@pytest.mark.localcluster  # runs the local control plane's kubectl
def test_the_manifests_stay_generated_and_a_second_webhook_changes_no_config(
    shop: Path,
) -> None:
    paths = [str(shop / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    checked = subprocess.run(
        [sys.executable, "-c", "from kubeweft.cli import main; main()", "manifests", *APP_CHECK],
        cwd=shop,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    wired = [shop / "config" / "default", shop / "config" / "cert-manager"]
    before = {path: path.read_text() for folder in wired for path in folder.iterdir()}
    kubeweft("create", "api", "--group", "shop", "--version", "v1alpha1", "--kind", "Shelf",
             "--dir", str(shop))  # fmt: skip
    said = kubeweft(*WEBHOOK[:-1], "Shelf", "--validation", "--dir", str(shop))
    assert "config/default" not in said
    assert "config/cert-manager" not in said
    assert {path: path.read_text() for folder in wired for path in folder.iterdir()} == before


def test_a_config_default_changed_by_hand_is_left_alone_with_a_note(tmp_path: Path) -> None:
    kubeweft("init", "shop", "--domain", "example.com", "--dir", str(tmp_path))
    kubeweft("create", "api", *STORE, "--dir", str(tmp_path))
    default = tmp_path / "config" / "default" / "kustomization.yaml"
    mine = "resources:\n- ../crd\n- ../rbac\n- ../manager\n"
    default.write_text(mine)
    said = kubeweft(*WEBHOOK, "--validation", "--dir", str(tmp_path))
    assert default.read_text() == mine
    assert "config/default does not take in ../webhook" in said
