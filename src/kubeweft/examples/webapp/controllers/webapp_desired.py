"""What a WebApp's Deployment and Service should look like, and bringing live ones there.

``controllerutil.create_or_update`` writes an owned object only if the reconciler's
mutate function changed it, so that function must change nothing when the fields *we
own* already match — and the API server fills in defaults (``imagePullPolicy``,
``protocol: TCP``, ``clusterIP``, ``strategy``...) and canonicalises quantities (``0.5``
CPU is read back as ``500m``). :func:`update_deployment` and :func:`update_service`
therefore compare only the fields we set — image, replicas, ports, env, resources,
labels, selector, our annotations — quantities by value, set each one that differs
on the live object (keeping everything the server or other tools own), and name what
they set, which the reconciler turns into Events and reconcile-log actions.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from lightkube.models import apps_v1, core_v1, meta_v1
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Service

from kubeweft.controllerutil import MANAGED_BY, MANAGED_BY_LABEL
from kubeweft.examples.webapp.api.v1 import WebApp

__all__ = [
    "CONTAINER_NAME",
    "desired_deployment",
    "desired_service",
    "labels_for",
    "parse_quantity",
    "selector_for",
    "update_deployment",
    "update_service",
]

CONTAINER_NAME = "app"

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
    return {**selector_for(webapp), MANAGED_BY_LABEL: MANAGED_BY}


def desired_deployment(webapp: WebApp, annotations: Mapping[str, str]) -> Deployment:
    """The Deployment ``webapp`` asks for; ``annotations`` carry the applied state."""
    spec = webapp.spec
    labels = labels_for(webapp)
    container = core_v1.Container(
        name=CONTAINER_NAME,
        image=spec.image,
        ports=[
            core_v1.ContainerPort(containerPort=p.port, name=p.name, protocol=p.protocol)
            for p in spec.ports
        ],
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
    return Service(
        metadata=_metadata(webapp, labels_for(webapp), None),
        spec=core_v1.ServiceSpec(
            type="ClusterIP",
            selector=selector_for(webapp),
            ports=[
                core_v1.ServicePort(
                    name=p.name, port=p.port, targetPort=p.port, protocol=p.protocol
                )
                for p in webapp.spec.ports
            ],
        ),
    )


# --- updating the live object --------------------------------------------------------


def update_deployment(live: Deployment, desired: Deployment) -> list[str]:
    """Set on ``live`` each owned field that differs from ``desired``; name what changed.

    An empty list means ``live`` was left exactly as it was (so nothing is written).
    """
    changed = _update_metadata(live.metadata, _meta(desired.metadata))
    want_spec = desired.spec
    if live.spec is None:
        live.spec = copy.deepcopy(want_spec)
        return [*changed, "spec"]
    if live.spec.replicas != want_spec.replicas:
        live.spec.replicas = want_spec.replicas
        changed.append("replicas")
    template = live.spec.template
    labels = (template.metadata.labels if template.metadata else None) or {}
    if not _contains(labels, _template_labels(want_spec)):
        template.metadata = template.metadata or meta_v1.ObjectMeta()
        template.metadata.labels = {**labels, **_template_labels(want_spec)}
        changed.append("template.labels")
    want = _app_container(desired)
    if template.spec is None:
        template.spec = core_v1.PodSpec(containers=[copy.deepcopy(want)])
        return [*changed, "containers"]
    containers = template.spec.containers
    have = next((c for c in containers if c.name == CONTAINER_NAME), None)
    if have is None or len(containers) != 1:
        have = have or copy.deepcopy(want)
        template.spec.containers = [have]
        changed.append("containers")
    if have.image != want.image:
        have.image = want.image
        changed.append("image")
    if _ports(have) != _ports(want):
        have.ports = copy.deepcopy(want.ports)
        changed.append("port")
    if _env(have) != _env(want):
        have.env = copy.deepcopy(want.env)
        changed.append("env")
    if _resource_values(have.resources) != _resource_values(want.resources):
        have.resources = copy.deepcopy(want.resources)
        changed.append("resources")
    return changed


def update_service(live: Service, desired: Service) -> list[str]:
    """Set our selector, port and labels on the live Service; name what changed.

    An unchanged port keeps what the server allocated (``clusterIP``, ``nodePort``).
    """
    changed = _update_metadata(live.metadata, _meta(desired.metadata))
    if live.spec is None:
        live.spec = copy.deepcopy(desired.spec)
        return [*changed, "spec"]
    if (live.spec.selector or {}) != _service_selector(desired):
        live.spec.selector = _service_selector(desired)
        changed.append("selector")
    if _service_ports(live) != _service_ports(desired):
        live.spec.ports = copy.deepcopy(desired.spec.ports if desired.spec else None)
        changed.append("port")
    return changed


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


def _update_metadata(live: meta_v1.ObjectMeta | None, want: meta_v1.ObjectMeta) -> list[str]:
    if live is None:  # pragma: no cover - objects read from the server always have metadata
        raise ValueError("live object has no metadata")
    changed: list[str] = []
    for name in ("labels", "annotations"):
        have, wanted = getattr(live, name) or {}, getattr(want, name) or {}
        if not _contains(have, wanted):
            setattr(live, name, {**have, **wanted})
            changed.append(name)
    return changed


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
