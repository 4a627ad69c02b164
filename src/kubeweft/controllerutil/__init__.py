"""Helpers that keep a reconciler short and correct (controller-runtime's ``controllerutil``).

Create-or-update of an owned object that writes nothing when nothing differs and never
takes over an object this application did not create; controller references and the
managed-by label; status conditions in the API conventions' shape; finalizers; and a
status write that does not conflict with the controller's own previous one. A guide:
``docs/guide/controllerutil.md``.
"""

from kubeweft.controllerutil.client import Client, DelegatingClient, Reader, Writer
from kubeweft.controllerutil.conditions import (
    find_status_condition,
    is_status_condition_true,
    remove_status_condition,
    set_status_condition,
)
from kubeweft.controllerutil.finalizers import (
    FinalizerResult,
    add_finalizer,
    contains_finalizer,
    handle_finalizer,
    remove_finalizer,
)
from kubeweft.controllerutil.mutate import OperationResult, create_or_update
from kubeweft.controllerutil.owners import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    AlreadyOwnedError,
    NotOwnedError,
    OwnershipError,
    check_ownership,
    set_controller_reference,
)
from kubeweft.controllerutil.status import merge_patch, patch_status

__all__ = [
    "MANAGED_BY",
    "MANAGED_BY_LABEL",
    "AlreadyOwnedError",
    "Client",
    "DelegatingClient",
    "FinalizerResult",
    "NotOwnedError",
    "OperationResult",
    "OwnershipError",
    "Reader",
    "Writer",
    "add_finalizer",
    "check_ownership",
    "contains_finalizer",
    "create_or_update",
    "find_status_condition",
    "handle_finalizer",
    "is_status_condition_true",
    "merge_patch",
    "patch_status",
    "remove_finalizer",
    "remove_status_condition",
    "set_controller_reference",
    "set_status_condition",
]
