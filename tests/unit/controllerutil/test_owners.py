"""Controller references and which objects may be adopted."""

from __future__ import annotations

import pytest
from lightkube.models.meta_v1 import ObjectMeta, OwnerReference
from lightkube.resources.core_v1 import ConfigMap

from kubeweft.controllerutil import (
    MANAGED_BY_LABEL,
    AlreadyOwnedError,
    NotOwnedError,
    OwnershipError,
    check_ownership,
    set_controller_reference,
)
from kubeweft.examples.webapp.api.v1 import WebApp


def webapp(uid: str = "wa-uid", name: str = "shop") -> WebApp:
    return WebApp.model_validate(
        {"metadata": {"name": name, "namespace": "default", "uid": uid}, "spec": {"image": "x"}}
    )


def config_map(*refs: OwnerReference, labels: dict[str, str] | None = None) -> ConfigMap:
    meta = ObjectMeta(name="shop", namespace="default", labels=labels, ownerReferences=list(refs))
    return ConfigMap(metadata=meta)


def ref(uid: str, *, controller: bool = True, kind: str = "ReplicaSet") -> OwnerReference:
    return OwnerReference(apiVersion="v1", kind=kind, name="other", uid=uid, controller=controller)


def test_set_controller_reference_adds_one_controlling_reference() -> None:
    cm = config_map(ref("x", controller=False))
    set_controller_reference(webapp(), cm)
    set_controller_reference(webapp(), cm)  # idempotent
    refs = cm.metadata.ownerReferences
    assert [(r.kind, r.uid, r.controller) for r in refs] == [
        ("ReplicaSet", "x", False),
        ("WebApp", "wa-uid", True),
    ]
    assert refs[1].blockOwnerDeletion is True


def test_set_controller_reference_refuses_another_controller() -> None:
    cm = config_map(ref("theirs"))
    with pytest.raises(AlreadyOwnedError) as caught:
        set_controller_reference(webapp(), cm)
    assert isinstance(caught.value, OwnershipError)
    assert caught.value.owner.uid == "theirs"
    assert "ConfigMap default/shop is controlled by ReplicaSet other (uid theirs)" in str(
        caught.value
    )
    assert [r.uid for r in cm.metadata.ownerReferences] == ["theirs"]


def test_set_controller_reference_on_a_custom_resource_uses_its_own_types() -> None:
    child = webapp(uid="child-uid", name="child")
    set_controller_reference(webapp(), child)
    (owner,) = child.metadata.ownerReferences or []
    assert child.to_dict()["metadata"]["ownerReferences"][0]["uid"] == "wa-uid"
    assert owner.controller is True


def test_objects_we_control_or_orphans_with_our_label_may_be_written() -> None:
    check_ownership(webapp(), config_map(ref("wa-uid", kind="WebApp")))
    check_ownership(webapp(), config_map(labels={MANAGED_BY_LABEL: "kubeweft"}))
    check_ownership(
        webapp(), config_map(ref("x", controller=False), labels={MANAGED_BY_LABEL: "kubeweft"})
    )


def test_unlabelled_object_without_controller_is_not_owned() -> None:
    with pytest.raises(NotOwnedError) as caught:
        check_ownership(webapp(), config_map(labels={MANAGED_BY_LABEL: "Helm"}))
    assert caught.value.owner is None
    assert (caught.value.kind, caught.value.namespace, caught.value.name) == (
        "ConfigMap",
        "default",
        "shop",
    )
    assert "no controller and no app.kubernetes.io/managed-by=kubeweft label" in str(caught.value)


def test_object_controlled_by_another_owner_is_not_owned_even_with_our_label() -> None:
    with pytest.raises(NotOwnedError) as caught:
        check_ownership(
            webapp(),
            config_map(ref("theirs", kind="WebApp"), labels={MANAGED_BY_LABEL: "kubeweft"}),
        )
    assert caught.value.owner.uid == "theirs"


def test_another_apps_label_value_is_not_ours() -> None:
    cm = config_map(labels={MANAGED_BY_LABEL: "kubeweft"})
    with pytest.raises(NotOwnedError):
        check_ownership(webapp(), cm, managed_by="shop")
