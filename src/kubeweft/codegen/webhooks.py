"""The Mutating/ValidatingWebhookConfigurations (and Service) for declared webhooks.

One function builds them for both places kubeweft runs, differing only in how the API
server reaches the server: a URL on the local control plane (``https://127.0.0.1:9443``)
or a Service in a cluster (``kubeweft manifests`` writes those to ``config/webhook``).

The choices, deliberately the same everywhere (docs/guide/webhooks.md):

* ``failurePolicy`` is the webhook's (``Fail`` by default): an unreachable webhook
  refuses writes of its model instead of letting unchecked objects in.
* ``sideEffects: None`` — the rules only read the request; dry-run requests are safe.
* ``timeoutSeconds`` is the webhook's (10 by default, the API server's own default).
* ``namespaceSelector`` leaves out ``kube-system`` and the process's own namespace, so a
  webhook that is down can never lock the cluster out of the namespace that would
  bring it back. A cluster-scoped model has no namespace and is always intercepted.
* ``matchPolicy: Equivalent`` — a request through another served version of the model
  is intercepted too (converted to the version the webhook declares).
* only the main resource, not ``/status`` or ``/scale``: the controller's status writes
  never wait on the webhook.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any

from kubeweft.api.admission import Operation, Webhook
from kubeweft.api.conversion import Conversion

__all__ = [
    "MUTATING",
    "NAMESPACE_NAME_LABEL",
    "VALIDATING",
    "cainjection_component",
    "default_client_config",
    "service_client_config",
    "url_client_config",
    "webhook_configurations",
]

MUTATING = "MutatingWebhookConfiguration"
VALIDATING = "ValidatingWebhookConfiguration"
#: Set by the API server on every namespace (Kubernetes ≥ 1.22); selectors can use it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
ADMISSION_REGISTRATION = "admissionregistration.k8s.io/v1"

#: ``path → clientConfig`` (without caBundle).
ClientConfig = Callable[[str], dict[str, Any]]


def url_client_config(base_url: str) -> ClientConfig:
    """Reach the server at ``base_url`` (the local control plane: a loopback URL)."""
    return lambda path: {"url": base_url.rstrip("/") + path}


def service_client_config(name: str, namespace: str, port: int = 443) -> ClientConfig:
    """Reach the server through a Service (in a cluster)."""
    return lambda path: {
        "service": {"name": name, "namespace": namespace, "path": path, "port": port}
    }


def default_client_config(path: str) -> dict[str, Any]:
    """The webhook Service of ``config/webhook`` (kustomize renames and re-namespaces it,
    in the webhook configurations and in a CRD's conversion alike)."""
    return service_client_config(SERVICE_NAME, NAMESPACE)(path)


def configuration_name(prefix: str, kind: str) -> str:
    return f"{prefix}{'mutating' if kind == MUTATING else 'validating'}-webhook-configuration"


def webhook_configurations(
    webhooks: Sequence[Webhook],
    *,
    client_config: ClientConfig,
    name_prefix: str = "",
    excluded_namespaces: Sequence[str] = ("kube-system",),
    ca_bundle: bytes | None = None,
    annotations: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The mutating configuration (when a webhook defaults) and the validating one (when
    one validates), named ``<name_prefix>mutating-webhook-configuration`` and
    ``<name_prefix>validating-webhook-configuration`` as kubebuilder names them."""

    def entry(hook: Webhook, mutating: bool) -> dict[str, Any]:
        return _webhook(
            hook,
            mutating=mutating,
            client_config=client_config,
            ca_bundle=ca_bundle,
            excluded_namespaces=excluded_namespaces,
        )

    mutating = [entry(h, True) for h in webhooks if h.defaulter is not None]
    validating = [entry(h, False) for h in webhooks if h.validator is not None]
    documents = []
    for kind, entries in ((MUTATING, mutating), (VALIDATING, validating)):
        if not entries:
            continue
        metadata: dict[str, Any] = {"name": configuration_name(name_prefix, kind)}
        if annotations:
            metadata["annotations"] = dict(annotations)
        documents.append(
            {
                "apiVersion": ADMISSION_REGISTRATION,
                "kind": kind,
                "metadata": metadata,
                "webhooks": entries,
            }
        )
    return documents


def _webhook(
    hook: Webhook,
    *,
    mutating: bool,
    client_config: ClientConfig,
    ca_bundle: bytes | None,
    excluded_namespaces: Sequence[str],
) -> dict[str, Any]:
    info = hook.model.model_info
    name = hook.mutating_name if mutating else hook.validating_name
    path = hook.mutate_path if mutating else hook.validate_path
    operations: list[Operation] = ["CREATE", "UPDATE"] if mutating else hook.validated_operations
    config = client_config(path)
    if ca_bundle is not None:
        config["caBundle"] = base64.b64encode(ca_bundle).decode()
    entry: dict[str, Any] = {
        "name": name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": config,
        "failurePolicy": hook.failure_policy,
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": hook.timeout_seconds,
        "rules": [
            {
                "apiGroups": [info.group],
                "apiVersions": [info.version],
                "operations": list(operations),
                "resources": [info.plural],
                "scope": "Namespaced" if info.namespaced else "Cluster",
            }
        ],
    }
    if mutating:
        entry["reinvocationPolicy"] = "Never"
    if excluded_namespaces:
        entry["namespaceSelector"] = {
            "matchExpressions": [
                {
                    "key": NAMESPACE_NAME_LABEL,
                    "operator": "NotIn",
                    "values": sorted(set(excluded_namespaces)),
                }
            ]
        }
    return entry


# --- config/webhook --------------------------------------------------------------------------

#: Kustomize placeholders, as in config/rbac: ``config/default`` gives the namespace and
#: the name prefix (the Service's name and namespace in the configurations follow).
NAMESPACE = "system"
SERVICE_NAME = "webhook-service"
SERVICE_ACCOUNT = "controller-manager"
WEBHOOK_PORT = 9443
CERTIFICATE_SECRET = "webhook-server-cert"


def webhook_files(
    app_name: str, webhooks: Sequence[Webhook], conversions: Sequence[Conversion] = ()
) -> dict[str, list[dict[str, Any]]]:
    """``config/webhook/``: the configurations (Service client config, no caBundle: the
    leader or cert-manager's CA injector fills it in), the Service in front of port 9443
    of every replica, and what the leader needs to keep its own certificate. A CRD with
    a conversion webhook (``conversions``) needs the same Service and certificate."""
    converted = [c for c in conversions if c.spokes]
    if not webhooks and not converted:
        return {}
    labels = {"app.kubernetes.io/name": app_name, "control-plane": "controller-manager"}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": SERVICE_NAME, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "webhook-server"}
            ],
        },
    }
    configs = webhook_configurations(
        webhooks,
        client_config=service_client_config(SERVICE_NAME, NAMESPACE),
        excluded_namespaces=("kube-system", NAMESPACE),
    )
    files = {"manifests.yaml": configs} if configs else {}
    crds = [c.hub.model_info.crd_name for c in converted]
    files["service.yaml"] = [service]
    files["certificate_rbac.yaml"] = _certificate_rbac(app_name, configs, crds)
    return files


def cainjection_component(app_name: str, conversions: Sequence[Conversion]) -> list[dict[str, Any]]:
    """``config/crd/patches/``: with cert-manager, its CA injector fills in the caBundle
    of each converted CRD (kubebuilder's ``cainjection_in_<plural>.yaml``). A kustomize
    Component, so ``config/cert-manager`` can take it while ``config/default`` (the
    leader patches the caBundle itself) does not."""
    certificate = f"{app_name}-system/{app_name}-serving-cert"
    return [
        {
            "apiVersion": "kustomize.config.k8s.io/v1alpha1",
            "kind": "Component",
            "patches": [
                {
                    "target": {
                        "kind": "CustomResourceDefinition",
                        "name": conversion.hub.model_info.crd_name,
                    },
                    "patch": (
                        "- op: add\n"
                        "  path: /metadata/annotations\n"
                        "  value:\n"
                        f"    cert-manager.io/inject-ca-from: {certificate}\n"
                    ),
                }
                for conversion in conversions
                if conversion.spokes
            ],
        }
    ]


def _certificate_rbac(
    app_name: str, configs: Sequence[dict[str, Any]], crds: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Without cert-manager the leader creates and rotates the Secret and patches the
    caBundles of these configurations, and nothing else. Kustomize does not rename
    ``resourceNames``: they carry the names the process uses, ``<app name>-...``, which
    are the deployed names when config/default's namePrefix is ``<app name>-``."""
    prefix = f"{app_name}-"
    subjects = [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}]
    by_kind = {
        MUTATING: "mutatingwebhookconfigurations",
        VALIDATING: "validatingwebhookconfigurations",
    }
    cluster_rules = [
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": [by_kind[c["kind"]]],
            "resourceNames": [prefix + c["metadata"]["name"]],
            "verbs": ["get", "update"],
        }
        for c in configs
    ]
    if crds:
        # The conversion caBundle of each CRD with several versions.
        cluster_rules.append(
            {
                "apiGroups": ["apiextensions.k8s.io"],
                "resources": ["customresourcedefinitions"],
                "resourceNames": sorted(crds),
                "verbs": ["get", "patch"],
            }
        )
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "webhook-certificate-role", "namespace": NAMESPACE},
            "rules": [
                # create cannot be limited by name (the object does not exist yet).
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [prefix + CERTIFICATE_SECRET],
                    "verbs": ["get", "update"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "webhook-certificate-rolebinding", "namespace": NAMESPACE},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "webhook-certificate-role",
            },
            "subjects": subjects,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "webhook-certificate-role"},
            "rules": cluster_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "webhook-certificate-rolebinding"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "webhook-certificate-role",
            },
            "subjects": subjects,
        },
    ]
