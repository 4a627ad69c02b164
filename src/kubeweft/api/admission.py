"""How a model is defaulted and validated: controller-runtime's CustomDefaulter and
CustomValidator, in Python.

A defaulter fills in what a user left out (``default(request, obj)`` changes ``obj``);
a validator accepts or refuses a create, an update (with the old object) or a delete,
returning warnings or raising :class:`Denied` with the fields at fault. Both are plain
objects registered beside the model (``App.add_webhook``), so the model class stays a
declaration of data and a rule can hold what it needs (a client, settings).

The same :class:`Webhook` runs in two places: the webhook server answers the API
server's AdmissionReviews with it (a defaulting JSON patch, an allowed/denied verdict),
and the REST layer calls it before it writes, so a REST client and ``kubectl`` are
refused with the same message naming the same field.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import jsonpatch
import pydantic

from kubeweft.api.model import CustomResource

__all__ = [
    "AdmissionRequest",
    "CustomDefaulter",
    "CustomValidator",
    "Denied",
    "FieldError",
    "Operation",
    "Warnings",
    "Webhook",
]

Operation = Literal["CREATE", "UPDATE", "DELETE"]
#: Messages the client shows without refusing the request (``kubectl`` prints them).
Warnings = list[str]

# Parts of an object a defaulter does not patch: the envelope, server-owned metadata
# (only labels and annotations are a defaulter's to set) and the status subresource.
_NOT_DEFAULTED = frozenset({"apiVersion", "kind", "metadata", "status"})
_DEFAULTED_METADATA = ("labels", "annotations")


@dataclass(frozen=True)
class AdmissionRequest:
    """What is being done, and by whom (the AdmissionReview's request, or the REST call)."""

    operation: Operation
    user: str = ""
    groups: tuple[str, ...] = ()
    namespace: str | None = None
    name: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class FieldError:
    """One refused field, named from the object's root as Kubernetes does (``spec.image``)."""

    field: str
    message: str


class Denied(Exception):
    """Raise from a defaulter or validator to refuse the request (HTTP 422 by default)."""

    def __init__(self, *errors: FieldError, message: str = "", code: int = 422) -> None:
        if not errors and not message:
            raise ValueError("a denial names a field or gives a message")
        self.errors = list(errors)
        self.code = code
        self.message = message or "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(self.message)

    @classmethod
    def field(cls, path: str, message: str) -> Denied:
        """A denial of one field: ``raise Denied.field("spec.image", "needs a tag")``."""
        return cls(FieldError(path, message))


class CustomDefaulter(Protocol):
    """Sets defaults on a model object before it is validated and stored."""

    async def default(self, request: AdmissionRequest, obj: Any) -> None: ...


class CustomValidator:
    """Accepts or refuses writes of a model; override the operations you check.

    Each method returns warnings (possibly none) or raises :class:`Denied`. A validator
    that does not override ``validate_delete`` is not called on deletion, so its
    webhook configuration does not intercept DELETE at all.
    """

    async def validate_create(self, request: AdmissionRequest, obj: Any) -> Warnings:
        return []

    async def validate_update(self, request: AdmissionRequest, old: Any, new: Any) -> Warnings:
        return []

    async def validate_delete(self, request: AdmissionRequest, obj: Any) -> Warnings:
        return []

    @property
    def validates_delete(self) -> bool:
        return type(self).validate_delete is not CustomValidator.validate_delete


FailurePolicy = Literal["Fail", "Ignore"]


@dataclass(frozen=True)
class Webhook:
    """A model's admission: its defaulter and validator plus how the API server calls them.

    ``failure_policy`` ``Fail`` (the default, as kubebuilder scaffolds it): while the
    webhook cannot be reached, writes of the model are refused rather than admitted
    unchecked. ``timeout_seconds`` bounds each call (the API server's own default is 10).
    """

    model: type[CustomResource]
    defaulter: CustomDefaulter | None = None
    validator: CustomValidator | None = None
    failure_policy: FailurePolicy = "Fail"
    timeout_seconds: int = field(default=10)

    def __post_init__(self) -> None:
        if self.defaulter is None and self.validator is None:
            raise ValueError(
                f"a webhook for {self.model.model_info.kind} needs a defaulter or a validator"
            )
        if not 1 <= self.timeout_seconds <= 30:
            raise ValueError("timeout_seconds must be between 1 and 30 (the API server's bounds)")

    # --- names, as kubebuilder derives them ---------------------------------------------
    @property
    def _slug(self) -> str:
        info = self.model.model_info
        return f"{info.group.replace('.', '-')}-{info.version}-{info.kind.lower()}"

    @property
    def mutate_path(self) -> str:
        return f"/mutate-{self._slug}"

    @property
    def validate_path(self) -> str:
        return f"/validate-{self._slug}"

    @property
    def mutating_name(self) -> str:
        info = self.model.model_info
        return f"m{info.kind.lower()}.{info.group}"

    @property
    def validating_name(self) -> str:
        info = self.model.model_info
        return f"v{info.kind.lower()}.{info.group}"

    @property
    def validated_operations(self) -> list[Operation]:
        operations: list[Operation] = ["CREATE", "UPDATE"]
        if self.validator is not None and self.validator.validates_delete:
            operations.append("DELETE")
        return operations

    # --- running the rules --------------------------------------------------------------
    def parse(self, raw: dict[str, Any]) -> CustomResource:
        """The typed object; a body the model refuses is a denial naming its fields."""
        try:
            return self.model.model_validate(raw)
        except pydantic.ValidationError as error:
            raise Denied(
                *(
                    FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"])
                    for e in error.errors()
                )
            ) from None

    async def default(self, request: AdmissionRequest, obj: CustomResource) -> None:
        if self.defaulter is not None:
            await self.defaulter.default(request, obj)

    async def validate(
        self, request: AdmissionRequest, obj: CustomResource, old: CustomResource | None = None
    ) -> Warnings:
        validator = self.validator
        if validator is None:
            return []
        if request.operation == "CREATE":
            return list(await validator.validate_create(request, obj))
        if request.operation == "UPDATE":
            return list(await validator.validate_update(request, old, obj))
        return list(await validator.validate_delete(request, obj))

    async def defaulting_patch(
        self, request: AdmissionRequest, raw: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The RFC 6902 patch that applies the defaulter to ``raw`` (the object as sent).

        Only what the defaulter changed is patched: a section the defaulter touched
        (``spec``, ...) is replaced by its typed form, labels and annotations likewise;
        the rest of ``raw`` (server-set metadata, fields this version does not know) is
        left as it came.
        """
        obj = self.parse(raw)
        before = obj.to_dict()
        await self.default(request, obj)
        after = obj.to_dict()
        target = copy.deepcopy(raw)
        for key in (before.keys() | after.keys()) - _NOT_DEFAULTED:
            if before.get(key) != after.get(key):
                _set_or_remove(target, key, after.get(key))
        before_meta, after_meta = _mapping(before.get("metadata")), _mapping(after.get("metadata"))
        for key in _DEFAULTED_METADATA:
            if before_meta.get(key) != after_meta.get(key):
                _set_or_remove(target.setdefault("metadata", {}), key, after_meta.get(key))
        patch: list[dict[str, Any]] = jsonpatch.make_patch(raw, target).patch
        return patch


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _set_or_remove(target: dict[str, Any], key: str, value: object) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
