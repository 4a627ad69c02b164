"""The admission declaration: a defaulter's JSON patch touches only what it changed, a
validator is called per operation with the old object, a denial names its fields."""

from typing import Any

import jsonpatch
import pytest

from kubeweft.api import CustomResource, ModelInfo, ResourceModel
from kubeweft.api.admission import (
    AdmissionRequest,
    CustomValidator,
    Denied,
    FieldError,
    Warnings,
    Webhook,
)


class GadgetSpec(ResourceModel):
    schedule: str = ""
    image: str
    replicas: int = 1


class Gadget(CustomResource):
    model_info = ModelInfo(
        group="stable.example.com", version="v1", kind="Gadget", plural="gadgets"
    )
    spec: GadgetSpec


class LabelDefaulter:
    async def default(self, request: AdmissionRequest, obj: Any) -> None:
        obj.metadata.labels = {**(obj.metadata.labels or {}), "team": "core"}
        obj.spec.schedule = obj.spec.schedule or "@daily"


class Recorder(CustomValidator):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Any]] = []

    async def validate_create(self, request: AdmissionRequest, obj: Any) -> Warnings:
        self.calls.append(("create", obj, None))
        return ["looks new"]

    async def validate_update(self, request: AdmissionRequest, old: Any, new: Any) -> Warnings:
        self.calls.append(("update", new, old))
        raise Denied(FieldError("spec.schedule", "may not change"), FieldError("spec.x", "no"))


def raw_gadget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "stable.example.com/v1",
        "kind": "Gadget",
        "metadata": {
            "name": "a",
            "namespace": "n",
            "managedFields": [{"manager": "kubectl"}],
            "uid": "u-1",
        },
        "spec": spec,
        "unknownTopLevel": {"kept": True},
    }


@pytest.mark.anyio
async def test_the_defaulting_patch_changes_only_what_the_defaulter_changed() -> None:
    hook = Webhook(Gadget, defaulter=LabelDefaulter())
    raw = raw_gadget(schedule="", image="x:1")
    patch = await hook.defaulting_patch(AdmissionRequest("CREATE"), raw)
    result = jsonpatch.apply_patch(raw, patch)
    assert result["metadata"]["labels"] == {"team": "core"}
    assert result["spec"]["schedule"] == "@daily"
    # What the model does not know and what the server owns is left as it came.
    assert result["metadata"]["managedFields"] == [{"manager": "kubectl"}]
    assert result["unknownTopLevel"] == {"kept": True}
    assert all(op["path"].split("/")[1] in ("metadata", "spec") for op in patch)


@pytest.mark.anyio
async def test_a_defaulter_that_changes_nothing_gives_an_empty_patch() -> None:
    hook = Webhook(Gadget, defaulter=LabelDefaulter())
    raw = raw_gadget(schedule="@hourly", image="x:1")
    raw["metadata"]["labels"] = {"team": "core"}
    assert await hook.defaulting_patch(AdmissionRequest("UPDATE"), raw) == []


@pytest.mark.anyio
async def test_the_validator_gets_the_operation_and_the_old_object() -> None:
    validator = Recorder()
    hook = Webhook(Gadget, validator=validator)
    new, old = (
        hook.parse(raw_gadget(schedule="b", image="x:1")),
        hook.parse(raw_gadget(schedule="a", image="x:1")),
    )
    assert await hook.validate(AdmissionRequest("CREATE"), new) == ["looks new"]
    with pytest.raises(Denied) as denied:
        await hook.validate(AdmissionRequest("UPDATE"), new, old)
    assert denied.value.code == 422
    assert denied.value.message == "spec.schedule: may not change; spec.x: no"
    assert [call[0] for call in validator.calls] == ["create", "update"]
    assert validator.calls[1][2].spec.schedule == "a"
    # Deletion is not intercepted by a validator that does not check it.
    assert hook.validated_operations == ["CREATE", "UPDATE"]


def test_a_validator_that_checks_deletion_asks_for_delete() -> None:
    class NoDelete(CustomValidator):
        async def validate_delete(self, request: AdmissionRequest, obj: Any) -> Warnings:
            raise Denied.field("metadata.name", "kept")

    assert Webhook(Gadget, validator=NoDelete()).validated_operations == [
        "CREATE",
        "UPDATE",
        "DELETE",
    ]


def test_a_body_the_model_refuses_is_a_denial_naming_the_field() -> None:
    hook = Webhook(Gadget, validator=CustomValidator())
    raw = raw_gadget(schedule="a", image="x:1", replicas="many")
    with pytest.raises(Denied) as denied:
        hook.parse(raw)
    assert [e.field for e in denied.value.errors] == ["spec.replicas"]


def test_a_webhook_needs_a_rule_and_a_timeout_the_api_server_accepts() -> None:
    with pytest.raises(ValueError, match="defaulter or a validator"):
        Webhook(Gadget)
    with pytest.raises(ValueError, match="timeout_seconds"):
        Webhook(Gadget, validator=CustomValidator(), timeout_seconds=31)
    assert Webhook(Gadget, validator=CustomValidator()).validate_path == (
        "/validate-stable-example-com-v1-gadget"
    )
