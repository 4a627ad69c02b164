"""The RBAC a kubeweft process needs, and the roles its users can be given.

The controller's ClusterRole lists exactly the verbs the code uses, derived from the
model declarations (the model itself, its status, the kinds it owns) plus the fixed
needs of the process (Events; TokenReview and SubjectAccessReview only when the REST
layer, which authenticates and authorises callers through them, is deployed).
Names are kubebuilder's (``manager-role``, ``controller-manager`` in namespace
``system``); ``config/default`` prefixes them and sets the real namespace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from kubeweft.api import CustomResource, PolicyRule

NAMESPACE = "system"
SERVICE_ACCOUNT = "controller-manager"
MANAGER_ROLE = "manager-role"
MANAGER_ROLE_BINDING = "manager-rolebinding"
LEADER_ELECTION_ROLE = "leader-election-role"
LEADER_ELECTION_ROLE_BINDING = "leader-election-rolebinding"
# Bound by the operator's user to whoever scrapes /metrics (KUBEWEFT_METRICS_AUTH).
METRICS_READER_ROLE = "metrics-reader"

# The REST layer authorises annotation writes as create/delete on a virtual subresource
# of the model (``webapps/annotations``); the API server never serves it, but
# SubjectAccessReview checks it like any other. The read-only views (history, metrics,
# events, the annotation list) need plain ``get`` on the model, exactly what
# ``auth.attributes`` asks, so no ``get`` on made-up subresources is granted here: a
# grant the REST layer never checks would only mislead whoever reads the Role.
ANNOTATIONS_SUBRESOURCE = "annotations"

READ = ("get", "list", "watch")
OWNED = ("create", "delete", "get", "list", "patch", "update", "watch")
LEASE = OWNED

Manifest = dict[str, Any]
_Grant = tuple[str, str, str]  # (apiGroup, resource, verb)


def rbac_for(models: Sequence[type[CustomResource]], *, api: bool = True) -> list[Manifest]:
    """Every RBAC object of a deployment running controllers for ``models`` (and, with
    ``api``, the REST layer)."""
    return [doc for docs in rbac_files(models, api=api).values() for doc in docs]


def rbac_files(
    models: Sequence[type[CustomResource]], *, api: bool = True
) -> dict[str, list[Manifest]]:
    """The same objects, keyed by their file name under ``config/rbac/``."""
    files: dict[str, list[Manifest]] = {
        "service_account.yaml": [_service_account()],
        "role.yaml": [manager_role(models, api=api)],
        "role_binding.yaml": [
            _binding("ClusterRoleBinding", MANAGER_ROLE_BINDING, "ClusterRole", MANAGER_ROLE)
        ],
        "leader_election_role.yaml": [leader_election_role()],
        "leader_election_role_binding.yaml": [
            _binding("RoleBinding", LEADER_ELECTION_ROLE_BINDING, "Role", LEADER_ELECTION_ROLE)
        ],
        "metrics_reader_role.yaml": [metrics_reader_role()],
    }
    for model in models:
        for role in user_roles(model):
            files[f"{role['metadata']['name'].replace('-', '_')}.yaml"] = [role]
    return files


def manager_role(models: Sequence[type[CustomResource]], *, api: bool = True) -> Manifest:
    """The controller's ClusterRole: exactly what reconcilers and the REST layer call.

    ``api=False`` is a controller-only deployment: nothing reviews callers' tokens, so
    TokenReview and SubjectAccessReview are not granted.
    """
    grants: set[_Grant] = set()
    named: list[dict[str, list[str]]] = []
    # The REST layer writes models with the process's own identity after a
    # SubjectAccessReview; it never impersonates its callers (docs/design/auth.md).
    model_verbs = ("get", "list", "watch", "update", "patch", "create", "delete")
    for model in models:
        info = model.model_info
        grants |= _grants(info.group, [info.plural], model_verbs)
        if "status" in model.model_fields:
            grants |= _grants(info.group, [f"{info.plural}/status"], ("get", "update", "patch"))
        if info.owns:
            # Owned objects carry ownerReferences with blockOwnerDeletion; with the
            # OwnerReferencesPermissionEnforcement admission plugin that needs this.
            grants |= _grants(info.group, [f"{info.plural}/finalizers"], ("update",))
        for api_version, plural in info.owns:
            grants |= _grants(_group_of(api_version), [plural], OWNED)
        for rule in info.rbac:
            if rule.resource_names:  # kept apart: merged, the names would widen or narrow
                named.append(_named_rule(rule))
            else:
                for group in rule.api_groups:
                    grants |= _grants(group, rule.resources, rule.verbs)
    for events_group in ("", "events.k8s.io"):
        grants |= _grants(events_group, ["events"], ("create", "patch"))
    # ``GET /api/<plural>/{namespace}/{name}/events`` lists the object's Events.
    grants |= _grants("", ["events"], ("list",))
    if api:
        grants |= _grants("authentication.k8s.io", ["tokenreviews"], ("create",))
        grants |= _grants("authorization.k8s.io", ["subjectaccessreviews"], ("create",))
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": MANAGER_ROLE},
        "rules": rules_from(grants) + sorted(_unique(named), key=repr),
    }


def _named_rule(rule: PolicyRule) -> dict[str, list[str]]:
    return {
        "apiGroups": list(rule.api_groups),
        "resources": sorted(rule.resources),
        "resourceNames": sorted(rule.resource_names),
        "verbs": sorted(rule.verbs),
    }


def _unique(rules: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    unique: list[dict[str, list[str]]] = []
    for rule in rules:
        if rule not in unique:
            unique.append(rule)
    return unique


def leader_election_role() -> Manifest:
    """Namespaced: the Lease the replicas compete for, and Events about it."""
    grants = _grants("coordination.k8s.io", ["leases"], LEASE)
    grants |= _grants("", ["events"], ("create", "patch"))
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": LEADER_ELECTION_ROLE, "namespace": NAMESPACE},
        "rules": rules_from(grants),
    }


def metrics_reader_role() -> Manifest:
    """kubebuilder's ``metrics-reader``: what the guarded ``/metrics`` asks a scraper for."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": METRICS_READER_ROLE},
        "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
    }


def user_roles(model: type[CustomResource]) -> list[Manifest]:
    """admin / editor / viewer ClusterRoles for ``model``, aggregated into the built-in
    ``admin`` / ``edit`` / ``view`` roles so namespace users get them automatically."""
    info = model.model_info
    annotations = f"{info.plural}/{ANNOTATIONS_SUBRESOURCE}"
    status = f"{info.plural}/status"
    read = _grants(info.group, [info.plural], READ) | _grants(info.group, [status], ("get",))
    levels: list[tuple[str, str, set[_Grant]]] = [
        ("admin", "admin", read | _grants(info.group, [info.plural, annotations], ("*",))),
        (
            "editor",
            "edit",
            read
            | _grants(info.group, [info.plural], ("create", "delete", "patch", "update"))
            | _grants(info.group, [annotations], ("create", "delete")),
        ),
        ("viewer", "view", read),
    ]
    singular = info.singular or info.kind.lower()
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": f"{singular}-{level}-role",
                "labels": {f"rbac.authorization.k8s.io/aggregate-to-{builtin}": "true"},
            },
            "rules": rules_from(grants),
        }
        for level, builtin, grants in levels
    ]


def rules_from(grants: Iterable[_Grant]) -> list[dict[str, list[str]]]:
    """Compact PolicyRules: one per (group, verb set), resources merged, sorted."""
    verbs_by_resource: dict[tuple[str, str], set[str]] = defaultdict(set)
    for group, resource, verb in grants:
        verbs_by_resource[(group, resource)].add(verb)
    resources_by_rule: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), verbs in verbs_by_resource.items():
        key = ("*",) if "*" in verbs else tuple(sorted(verbs))
        resources_by_rule[(group, key)].append(resource)
    return [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in sorted(resources_by_rule.items())
    ]


def _grants(group: str, resources: Iterable[str], verbs: Iterable[str]) -> set[_Grant]:
    return {(group, resource, verb) for resource in resources for verb in verbs}


def _group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def _service_account() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
    }


def _binding(kind: str, name: str, role_kind: str, role: str) -> Manifest:
    metadata: dict[str, str] = {"name": name}
    if kind == "RoleBinding":
        metadata["namespace"] = NAMESPACE
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}],
    }
