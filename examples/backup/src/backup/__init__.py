"""Scheduled backups: a namespaced model whose children are a CronJob and a ConfigMap.

A project built on kubeweft's public API only (``kubeweft.App``, ``kubeweft.api``,
``kubeweft.controllerutil``), laid out as a kubebuilder project: the types in
``api/v1alpha1``, the reconciler in ``controllers``, the assembly in ``app.py``.
"""
