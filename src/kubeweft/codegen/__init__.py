"""Manifests from model declarations (controller-gen's job): CRDs with structural
OpenAPI v3 schemas, and the RBAC the controllers need. ``kubeweft manifests`` writes
them under ``config/``; CI fails when the checked-in files drift from the code.
"""

from kubeweft.codegen.crd import crd_for, openapi_schema
from kubeweft.codegen.manifests import GeneratedFile, drift, generated_files, write
from kubeweft.codegen.rbac import manager_role, rbac_for, user_roles
from kubeweft.codegen.schema import SchemaError, structural_problems, structural_schema

__all__ = [
    "GeneratedFile",
    "SchemaError",
    "crd_for",
    "drift",
    "generated_files",
    "manager_role",
    "openapi_schema",
    "rbac_for",
    "structural_problems",
    "structural_schema",
    "user_roles",
    "write",
]
