"""Manifests from model declarations (controller-gen's job): CRDs with structural
OpenAPI v3 schemas, and the RBAC the controllers need. ``kubeweft manifests`` writes
them under ``config/``; CI fails when the checked-in files drift from the code.
"""
