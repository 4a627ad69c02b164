"""What a WebApp's Deployment and Service should look like, and whether the live ones do.

The reconciler writes an owned object only when a field *we own* differs from what the
WebApp asks for. Comparing whole objects would not work: the API server fills in
defaults (``imagePullPolicy``, ``protocol: TCP``, ``clusterIP``, ``strategy``...), and
canonicalises quantities (``0.5`` CPU is read back as ``500m``), so a naive
comparison would see a difference on every reconcile and write forever. Instead
:func:`deployment_drift` and :func:`service_drift` look only at the fields we set —
image, replicas, port, env, resources, labels, selector, our annotations, the
controller reference — compare quantities by value, and name what differs, which the
reconciler turns into Events and reconcile-log actions. :func:`merge_deployment` and
:func:`merge_service` then write those fields onto a copy of the live object, so an
update keeps everything the server or other tools own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.api.v1alpha1 import WebApp
from kubeweft.runtime import objects

__all__ = [
    "CONTAINER_NAME",
    "MANAGED_BY",
    "PORT_NAME",
    "deployment_drift",
    "desired_deployment",
    "desired_service",
    "labels_for",
    "merge_deployment",
    "merge_service",
    "parse_quantity",
    "selector_for",
    "service_drift",
]

CONTAINER_NAME = "app"
PORT_NAME = "http"
MANAGED_BY = "kubeweft"

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}


def selector_for(webapp: WebApp) -> dict[str, str]:
    """The labels that select a WebApp's pods; the Deployment selector is immutable."""
    name = _name(webapp)
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}


def labels_for(webapp: WebApp) -> dict[str, str]:
    """Labels on the Deployment, its pods and the Service."""
    return {**selector_for(webapp), "app.kubernetes.io/managed-by": MANAGED_BY}


def desired_deployment(webapp: WebApp, annotations: Mapping[str, str]) -> Deployment:
    """The Deployment ``webapp`` asks for; ``annotations`` carry the applied state."""
    spec = webapp.spec
    labels = labels_for(webapp)
    container = core_v1.Container(
        name=CONTAINER_NAME,
        image=spec.image,
        ports=[core_v1.ContainerPort(containerPort=spec.port, name=PORT_NAME, protocol="TCP")],
        env=[core_v1.EnvVar(name=e.name, value=e.value) for e in spec.env] or None,
        resources=_resources(webapp),
    )
    return Deployment(
        metadata=_metadata(webapp, labels, dict(annotations)),
        spec=apps_v1.DeploymentSpec(
            replicas=spec.replicas,
            selector=meta_v1.LabelSelector(matchLabels=selector_for(webapp)),
            template=core_v1.PodTemplateSpec(
                metadata=meta_v1.ObjectMeta(labels=labels),
                spec=core_v1.PodSpec(containers=[container]),
            ),
        ),
    )


def desired_service(webapp: WebApp) -> Service:
    """The ClusterIP Service in front of the WebApp's pods, named like the WebApp."""
    port = webapp.spec.port
    return Service(
        metadata=_metadata(webapp, labels_for(webapp), None),
        spec=core_v1.ServiceSpec(
            type="ClusterIP",
            selector=selector_for(webapp),
            ports=[core_v1.ServicePort(name=PORT_NAME, port=port, targetPort=port, protocol="TCP")],
        ),
    )


# --- comparison --------------------------------------------------------------------


def deployment_drift(live: Deployment, desired: Deployment) -> list[str]:
    """The owned fields of ``live`` that differ from ``desired`` (empty: no write needed)."""
    drift = _metadata_drift(live.metadata, _meta(desired.metadata))
    live_spec, want_spec = live.spec, desired.spec
    if live_spec is None:
        return [*drift, "spec"]
    if live_spec.replicas != want_spec.replicas:
        drift.append("replicas")
    if not _contains(_template_labels(live_spec), _template_labels(want_spec)):
        drift.append("template.labels")
    live_pod = live_spec.template.spec
    want = _app_container(desired)
    containers = live_pod.containers if live_pod is not None else []
    if [c.name for c in containers] != [CONTAINER_NAME]:
        drift.append("containers")
        return drift
    have = containers[0]
    if have.image != want.image:
        drift.append("image")
    if _ports(have) != _ports(want):
        drift.append("port")
    if _env(have) != _env(want):
        drift.append("env")
    if _resource_values(have.resources) != _resource_values(want.resources):
        drift.append("resources")
    return drift


def service_drift(live: Service, desired: Service) -> list[str]:
    """The owned fields of the live Service that differ from ``desired``."""
    drift = _metadata_drift(live.metadata, _meta(desired.metadata))
    if live.spec is None:
        return [*drift, "spec"]
    if (live.spec.selector or {}) != _service_selector(desired):
        drift.append("selector")
    if _service_ports(live) != _service_ports(desired):
        drift.append("port")
    return drift


# --- merging desired fields into the live object -----------------------------------


def merge_deployment(live: Deployment, desired: Deployment) -> Deployment:
    """A copy of ``live`` with every owned field set from ``desired`` (other fields kept)."""
    merged = copy.deepcopy(live)
    _merge_metadata(merged.metadata, _meta(desired.metadata))
    want_spec = desired.spec
    if merged.spec is None:
        merged.spec = copy.deepcopy(want_spec)
        return merged
    merged.spec.replicas = want_spec.replicas
    template = merged.spec.template
    if template.metadata is None:
        template.metadata = meta_v1.ObjectMeta()
    template.metadata.labels = {
        **(template.metadata.labels or {}),
        **_template_labels(want_spec),
    }
    want = _app_container(desired)
    if template.spec is None:
        template.spec = core_v1.PodSpec(containers=[copy.deepcopy(want)])
        return merged
    have = next((c for c in template.spec.containers if c.name == CONTAINER_NAME), None)
    if have is None:
        template.spec.containers = [copy.deepcopy(want)]
        return merged
    have.image = want.image
    have.env = copy.deepcopy(want.env)
    have.resources = copy.deepcopy(want.resources)
    if _ports(have) != _ports(want):
        have.ports = copy.deepcopy(want.ports)
    template.spec.containers = [have]
    return merged


def merge_service(live: Service, desired: Service) -> Service:
    """A copy of the live Service with our selector, port, labels and owner set."""
    merged = copy.deepcopy(live)
    _merge_metadata(merged.metadata, _meta(desired.metadata))
    if merged.spec is None:
        merged.spec = copy.deepcopy(desired.spec)
        return merged
    merged.spec.selector = _service_selector(desired)
    if _service_ports(merged) != _service_ports(desired):
        # Only when they differ: an unchanged port keeps what the server allocated.
        merged.spec.ports = copy.deepcopy(desired.spec.ports if desired.spec else None)
    return merged


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity (``500m``, ``0.5``, ``1Gi``, ``1e3``)."""
    text = text.strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return Decimal(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return Decimal(text)


# --- helpers -----------------------------------------------------------------------


def _name(webapp: WebApp) -> str:
    name = webapp.metadata.name
    if not name:
        raise ValueError("a WebApp without a name has no owned objects")
    return name


def _metadata(
    webapp: WebApp, labels: dict[str, str], annotations: dict[str, str] | None
) -> meta_v1.ObjectMeta:
    return meta_v1.ObjectMeta(
        name=_name(webapp),
        namespace=webapp.metadata.namespace,
        labels=labels,
        annotations=annotations or None,
        ownerReferences=[objects.owner_reference(webapp, controller=True)],
    )


def _resources(webapp: WebApp) -> core_v1.ResourceRequirements | None:
    wanted = webapp.spec.resources
    if wanted is None:
        return None
    requests = wanted.requests.model_dump(exclude_none=True) if wanted.requests else {}
    limits = wanted.limits.model_dump(exclude_none=True) if wanted.limits else {}
    if not requests and not limits:
        return None
    return core_v1.ResourceRequirements(requests=requests or None, limits=limits or None)


def _meta(meta: meta_v1.ObjectMeta | None) -> meta_v1.ObjectMeta:
    if meta is None:
        raise ValueError("a desired object always has metadata")
    return meta


def _template_labels(spec: apps_v1.DeploymentSpec) -> dict[str, str]:
    meta = spec.template.metadata
    return dict((meta.labels if meta else None) or {})


def _app_container(desired: Deployment) -> core_v1.Container:
    pod = desired.spec.template.spec if desired.spec else None
    if pod is None:
        raise ValueError("a desired Deployment always has a pod spec")
    return pod.containers[0]


def _service_selector(service: Service) -> dict[str, str]:
    return dict((service.spec.selector if service.spec else None) or {})


def _contains(have: Mapping[str, str], want: Mapping[str, str]) -> bool:
    return all(have.get(key) == value for key, value in want.items())


def _owner_uids(meta: meta_v1.ObjectMeta | None) -> set[str]:
    refs = (meta.ownerReferences if meta else None) or []
    return {ref.uid for ref in refs if ref.controller}


def _metadata_drift(live: meta_v1.ObjectMeta | None, want: meta_v1.ObjectMeta) -> list[str]:
    drift: list[str] = []
    if not _contains((live.labels if live else None) or {}, want.labels or {}):
        drift.append("labels")
    if not _contains((live.annotations if live else None) or {}, want.annotations or {}):
        drift.append("annotations")
    if not _owner_uids(want) <= _owner_uids(live):
        drift.append("ownerReferences")
    return drift


def _merge_metadata(live: meta_v1.ObjectMeta | None, want: meta_v1.ObjectMeta) -> None:
    if live is None:  # pragma: no cover - objects read from the server always have metadata
        raise ValueError("live object has no metadata")
    live.labels = {**(live.labels or {}), **(want.labels or {})}
    if want.annotations:
        live.annotations = {**(live.annotations or {}), **want.annotations}
    wanted_uids = _owner_uids(want) - _owner_uids(live)
    if wanted_uids:
        # The object has no controller yet (we checked that no other controller owns it):
        # adopt it, as controller-runtime's SetControllerReference does.
        refs = list(live.ownerReferences or [])
        refs.extend(ref for ref in want.ownerReferences or [] if ref.uid in wanted_uids)
        live.ownerReferences = refs


def _ports(container: core_v1.Container) -> list[tuple[int, str | None, str]]:
    return [(p.containerPort, p.name, p.protocol or "TCP") for p in container.ports or []]


def _env(container: core_v1.Container) -> list[tuple[str, str, Any]]:
    return [(e.name, e.value or "", e.valueFrom) for e in container.env or []]


def _resource_values(
    resources: core_v1.ResourceRequirements | None,
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    if resources is None:
        return {}, {}

    def values(quantities: dict[str, Any] | None) -> dict[str, Decimal]:
        return {name: parse_quantity(str(q)) for name, q in (quantities or {}).items()}

    return values(resources.requests), values(resources.limits)


def _service_ports(service: Service) -> list[tuple[str | None, int, str, str]]:
    ports = (service.spec.ports if service.spec else None) or []
    return [(p.name, p.port, str(p.targetPort or p.port), p.protocol or "TCP") for p in ports]
