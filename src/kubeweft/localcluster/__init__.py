"""The local control plane: a real etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (simulated nodes), built from Go modules and started on free
loopback ports. Used by ``make run`` when no kubeconfig is given, and by the tests.

``build`` makes and caches the binaries, ``LocalCluster`` runs them, ``pytest_plugin``
turns them into fixtures and ``cli`` into ``kubeweft cluster``.
"""

from kubeweft.localcluster.access import NON_ADMIN_USERS, ClusterAccess, KubectlError, NotSupported
from kubeweft.localcluster.build import Binaries, BinariesUnavailable, ensure_built, find_binaries
from kubeweft.localcluster.cluster import ClusterStartError, LocalCluster
from kubeweft.localcluster.external import ExternalCluster
from kubeweft.localcluster.state import DEFAULT_DIR, running_kubeconfig

__all__ = [
    "DEFAULT_DIR",
    "NON_ADMIN_USERS",
    "Binaries",
    "BinariesUnavailable",
    "ClusterAccess",
    "ClusterStartError",
    "ExternalCluster",
    "KubectlError",
    "LocalCluster",
    "NotSupported",
    "ensure_built",
    "find_binaries",
    "running_kubeconfig",
]
