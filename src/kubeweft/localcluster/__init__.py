"""The local control plane: a real etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (simulated nodes), built from Go modules and started on free
loopback ports. Used by ``make run`` when no kubeconfig is given, and by the tests.
"""
