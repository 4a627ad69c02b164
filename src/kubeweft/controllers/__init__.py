"""Reconcilers, one module per model (kubebuilder's ``internal/controller``).

A reconciler reads the cluster through the cache, writes the cluster through the
client, and only ever *writes* to the database (history, reconcile log, metrics).
"""
