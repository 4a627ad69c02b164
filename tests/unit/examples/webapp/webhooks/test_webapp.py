"""WebApp's rules: requests defaulted when absent (and only then), image tags checked."""

import pytest

from kubeweft.api.admission import AdmissionRequest, Denied
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.examples.webapp.webhooks import WebAppDefaulter
from kubeweft.examples.webapp.webhooks.webapp import check_image, image_tag

CREATE = AdmissionRequest("CREATE")


@pytest.mark.anyio
async def test_requests_are_defaulted_when_absent() -> None:
    obj = WebApp.model_validate({"metadata": {"name": "a"}, "spec": {"image": "a:1"}})
    await WebAppDefaulter().default(CREATE, obj)
    assert obj.to_dict()["spec"]["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"}}


@pytest.mark.anyio
async def test_given_requests_and_limits_are_kept() -> None:
    resources = {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}
    obj = WebApp.model_validate(
        {"metadata": {"name": "a"}, "spec": {"image": "a:1", "resources": resources}}
    )
    await WebAppDefaulter().default(CREATE, obj)
    assert obj.to_dict()["spec"]["resources"] == resources


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("nginx", None),
        ("nginx:1.27", "1.27"),
        ("registry:5000/team/app", None),
        ("registry:5000/team/app:v2", "v2"),
        ("app@sha256:abc", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "registry:5000/app"])
def test_an_image_without_a_pinned_tag_is_denied_naming_spec_image(image: str) -> None:
    with pytest.raises(Denied) as denied:
        check_image(image)
    assert [e.field for e in denied.value.errors] == ["spec.image"]


@pytest.mark.parametrize("image", ["nginx:1.27", "registry:5000/app:v2", "app@sha256:abc"])
def test_a_pinned_image_is_allowed(image: str) -> None:
    check_image(image)
