"""Simulated Nodes: the kwok configuration and the Node objects it manages.

kwok has no built-in behaviour; it applies *stages* (selector → status patch) to the
Nodes it manages and the Pods bound to them. The three stages here make a Node Ready,
make a scheduled Pod Running and Ready (so Deployments report ``readyReplicas`` as on a
real cluster) and finish deleting a Pod once it has a deletion timestamp (there is no
kubelet to do it). Node heartbeats come from kwok's Lease renewal, which is what the
node-lifecycle controller watches, so Nodes stay Ready without status churn.
"""

from __future__ import annotations

from typing import Any

import yaml

# Nodes carrying this annotation are the ones kwok manages (and only those).
MANAGED_ANNOTATION = "kwok.x-k8s.io/node"
MANAGED_VALUE = "fake"
POD_CIDR = "10.244.0.0/16"

_NODE_READY_STATUS = """\
{{ $now := Now }}
conditions:
- type: Ready
  status: "True"
  reason: KubeletReady
  message: simulated by kwok
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ range (list "MemoryPressure" "DiskPressure" "PIDPressure" "NetworkUnavailable") }}
- type: {{ . }}
  status: "False"
  reason: Simulated
  message: simulated by kwok
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
addresses:
- type: InternalIP
  address: {{ NodeIP | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
allocatable: {cpu: "32", memory: 256Gi, pods: "250"}
capacity: {cpu: "32", memory: 256Gi, pods: "250"}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: kwok
  kubeProxyVersion: kwok
  containerRuntimeVersion: kwok
  kernelVersion: kwok
  osImage: kwok
  machineID: ""
  bootID: ""
  systemUUID: ""
phase: Running
"""

_POD_RUNNING_STATUS = """\
{{ $now := Now }}
phase: Running
startTime: {{ $now | Quote }}
conditions:
{{ range (list "PodScheduled" "Initialized" "ContainersReady" "Ready") }}
- type: {{ . }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
{{ range .spec.readinessGates }}
- type: {{ .conditionType | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
{{ $ip := PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) \
( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
podIP: {{ $ip | Quote }}
podIPs:
- ip: {{ $ip | Quote }}
"""


def _stage(
    name: str, kind: str, expressions: list[dict[str, Any]], then: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": kind},
            "selector": {"matchExpressions": expressions},
            "next": then,
        },
    }


_NOT_READY = {
    "key": '.status.conditions.[] | select( .type == "Ready" ) | .status',
    "operator": "NotIn",
    "values": ["True"],
}
_NOT_DELETING = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}


def stages() -> list[dict[str, Any]]:
    return [
        _stage("node-ready", "Node", [_NOT_READY], {"statusTemplate": _NODE_READY_STATUS}),
        _stage(
            "pod-running",
            "Pod",
            [
                _NOT_DELETING,
                {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
                _NOT_READY,
            ],
            {"statusTemplate": _POD_RUNNING_STATUS},
        ),
        _stage(
            "pod-gone",
            "Pod",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"delete": True},
        ),
    ]


def config_yaml() -> str:
    """The ``--config`` file: the stages above, one YAML document each."""
    return yaml.safe_dump_all(stages(), sort_keys=False)


def node_manifest(name: str) -> dict[str, Any]:
    """A Node kwok will manage; untainted, so ordinary Pods schedule onto it."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {MANAGED_ANNOTATION: MANAGED_VALUE},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {},
    }


def node_names(count: int) -> list[str]:
    return [f"kwok-node-{index}" for index in range(count)]
