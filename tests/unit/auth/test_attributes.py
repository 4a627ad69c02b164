"""The REST operation → RBAC verb/subresource table (SPEC §8, issue 6)."""

from __future__ import annotations

import pytest

from kubeweft.auth.attributes import Operation, attributes_for, describe
from kubeweft.examples.webapp.api.v1 import WebApp

INFO = WebApp.model_info


@pytest.mark.parametrize(
    ("operation", "verb", "subresource"),
    [
        (Operation.LIST, "list", None),
        (Operation.GET, "get", None),
        (Operation.CREATE, "create", None),
        (Operation.PATCH, "patch", None),
        (Operation.DELETE, "delete", None),
        (Operation.CREATE_ANNOTATION, "create", "annotations"),
        (Operation.DELETE_ANNOTATION, "delete", "annotations"),
        (Operation.READ_ANNOTATIONS, "get", None),
        (Operation.READ_HISTORY, "get", None),
        (Operation.READ_METRICS, "get", None),
        (Operation.READ_EVENTS, "get", None),
    ],
)
def test_operation_maps_to_verb(operation: Operation, verb: str, subresource: str | None) -> None:
    attributes = attributes_for(INFO, operation, namespace="team-a", name="web")
    assert attributes.verb == verb
    assert attributes.subresource == subresource
    assert (attributes.group, attributes.resource) == ("kubeweft.dev", "webapps")
    assert attributes.namespace == "team-a"


def test_list_and_create_are_not_named() -> None:
    # RBAC resourceNames cannot restrict list or create; a name would only confuse.
    for operation in (Operation.LIST, Operation.CREATE):
        assert attributes_for(INFO, operation, namespace="a", name="web").name is None
    assert attributes_for(INFO, Operation.GET, namespace="a", name="web").name == "web"


def test_describe_reads_like_the_api_server() -> None:
    attributes = attributes_for(INFO, Operation.DELETE_ANNOTATION, namespace="team-b", name="w")
    assert describe(attributes, "bob") == (
        'User "bob" cannot delete resource "webapps/annotations" "w" in API group'
        ' "kubeweft.dev" in the namespace "team-b"'
    )
    cluster = attributes_for(INFO, Operation.LIST, namespace=None)
    assert describe(cluster, "carol").endswith("at the cluster scope")
