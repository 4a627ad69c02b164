"""Kind metadata and object conversion for both object families."""

from __future__ import annotations

import pytest
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import Namespace

from kubeweft.examples.webapp.api.v1 import WebApp, WebAppSpec
from kubeweft.runtime import errors
from kubeweft.runtime.objects import (
    KindInfo,
    ObjectKey,
    controller_owner,
    decode,
    encode,
    from_dict,
    kind_info,
    object_key,
    owner_reference,
    to_dict,
)


def test_kind_info_of_both_families() -> None:
    assert kind_info(WebApp) == KindInfo("kubeweft.dev", "v1", "WebApp", "webapps", True)
    assert kind_info(Deployment) == KindInfo("apps", "v1", "Deployment", "deployments", True)
    assert kind_info(Namespace).namespaced is False
    assert kind_info(Namespace).api_version == "v1"
    assert kind_info(SubjectAccessReview).plural == "subjectaccessreviews"
    with pytest.raises(TypeError):
        kind_info(dict)


def test_round_trip_and_owner_references() -> None:
    app = WebApp(
        metadata={"name": "web", "namespace": "ns", "uid": "u-1"}, spec=WebAppSpec(image="nginx")
    )
    assert from_dict(WebApp, to_dict(app)) == app
    assert decode(WebApp, b'{"metadata":{"name":"x"},"spec":{"image":"i"}}').spec.image == "i"
    assert object_key(app) == ObjectKey("ns", "web")
    assert str(object_key(app)) == "ns/web"

    dep = from_dict(
        Deployment,
        {"metadata": {"name": "d", "namespace": "ns"}, "spec": {"selector": {}, "template": {}}},
    )
    assert dep.metadata is not None
    dep.metadata.ownerReferences = [owner_reference(app)]
    data = to_dict(dep)
    assert data["apiVersion"] == "apps/v1"
    assert data["metadata"]["ownerReferences"][0]["controller"] is True
    back = from_dict(Deployment, data)
    owner = controller_owner(back)
    assert owner is not None
    assert (owner.kind, owner.uid) == ("WebApp", "u-1")
    with pytest.raises(ValueError, match="created"):
        owner_reference(WebApp(spec=WebAppSpec(image="x")))


def test_encode_then_decode_gives_an_equal_object_of_both_families() -> None:
    """What an encoded cache keeps (``InformerOptions.keep_encoded``) reads back equal."""
    app = WebApp(
        metadata={"name": "web", "namespace": "ns", "uid": "u-1", "labels": {"a": "b"}},
        spec=WebAppSpec(image="nginx", replicas=3),
    )
    assert decode(WebApp, encode(app)) == app
    owner = {"apiVersion": "kubeweft.dev/v1", "kind": "WebApp", "name": "web", "uid": "u-1"}
    dep = from_dict(
        Deployment,
        {
            "metadata": {"name": "d", "namespace": "ns", "ownerReferences": [owner]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}, "template": {}},
            "status": {"conditions": [{"type": "Available", "status": "True"}]},
        },
    )
    assert decode(Deployment, encode(dep)) == dep
    assert len(encode(dep)) < 400  # compact: no nulls written


def test_error_mapping_from_status() -> None:
    gone = errors.error_from_status(200, {"kind": "Status", "code": 410, "reason": "Expired"})
    assert isinstance(gone, errors.Gone)
    timeout = errors.error_from_status(504, {"reason": "Timeout"})
    assert isinstance(timeout, errors.Timeout)
    assert isinstance(timeout, errors.ServerError)
    plain = errors.error_from_body(502, b"<html>bad gateway</html>")
    assert isinstance(plain, errors.ServerError)
    assert "bad gateway" in plain.message
    throttled = errors.error_from_status(429, {"details": {"retryAfterSeconds": 4}})
    assert throttled.retry_after == 4.0
