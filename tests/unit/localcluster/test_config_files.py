"""The files handed to the components: the static token file, kubeconfigs and kwok's
stage configuration."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

import yaml

from kubeweft.localcluster import kubeconfig, kwok
from kubeweft.localcluster.pytest_plugin import _namespace_name


def test_token_file_lists_groups_in_one_quoted_field() -> None:
    text = kubeconfig.token_file(
        [
            kubeconfig.StaticUser("admin", "t1", ("system:masters", "team")),
            kubeconfig.StaticUser("alice", "t2"),
        ]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["t1", "admin", "admin", "system:masters,team"], ["t2", "alice", "alice"]]


def test_kubeconfig_embeds_the_ca_and_selects_the_user(tmp_path: Path) -> None:
    path = kubeconfig.write(tmp_path / "kc", "https://127.0.0.1:1", b"PEM", "alice", "tok")
    config = yaml.safe_load(path.read_text())
    context = config["contexts"][0]
    assert config["current-context"] == context["name"]
    assert context["context"]["user"] == "alice"
    cluster = config["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == b"PEM"
    assert config["users"][0]["user"] == {"token": "tok"}
    assert path.stat().st_mode & 0o077 == 0


def test_kwok_config_has_node_and_pod_stages() -> None:
    documents = list(yaml.safe_load_all(kwok.config_yaml()))
    kinds = {(d["metadata"]["name"], d["spec"]["resourceRef"]["kind"]) for d in documents}
    assert ("node-ready", "Node") in kinds
    assert ("pod-running", "Pod") in kinds
    assert ("pod-gone", "Pod") in kinds
    assert all(d["kind"] == "Stage" for d in documents)


def test_simulated_nodes_carry_the_annotation_kwok_selects_and_no_taint() -> None:
    node = kwok.node_manifest("kwok-node-0")
    assert node["metadata"]["annotations"] == {kwok.MANAGED_ANNOTATION: kwok.MANAGED_VALUE}
    assert "taints" not in node["spec"]


def test_namespace_names_are_valid_dns_labels() -> None:
    name = _namespace_name("test_thing[Param-Two_3] " + "x" * 80)
    assert len(name) <= 63
    assert name == name.lower()
    assert all(c.isalnum() or c == "-" for c in name)
    assert not name.endswith("-")
