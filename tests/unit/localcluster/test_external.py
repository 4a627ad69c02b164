"""Reading an existing cluster's kubeconfig (KUBEWEFT_TEST_KUBECONFIG): server, CA and
credentials of the current context, by token or by client certificate."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from kubeweft.localcluster import ExternalCluster, NotSupported, kubeconfig, pki


def test_token_kubeconfig_gives_server_ca_and_token(tmp_path: Path) -> None:
    paths = pki.generate(tmp_path / "pki")
    path = kubeconfig.write(
        tmp_path / "kc", "https://127.0.0.1:6443", paths.ca_cert.read_bytes(), "admin", "sekret"
    )
    cluster = ExternalCluster(path)
    try:
        assert cluster.server == "https://127.0.0.1:6443"
        assert cluster.ca_path.read_bytes() == paths.ca_cert.read_bytes()
        assert cluster.admin_token() == "sekret"
        with cluster.http() as client:
            assert client.headers["Authorization"] == "Bearer sekret"
        with pytest.raises(NotSupported):
            cluster.token_for("alice")
        with pytest.raises(NotSupported):
            cluster.restart_apiserver()
    finally:
        cluster.close()


def test_client_certificate_kubeconfig_presents_the_certificate(tmp_path: Path) -> None:
    paths = pki.generate(tmp_path / "pki")
    config = kubeconfig.render("https://h:1", paths.ca_cert.read_bytes(), "admin", "unused")
    config["users"][0]["user"] = {
        "client-certificate-data": base64.b64encode(paths.serving_cert.read_bytes()).decode(),
        "client-key-data": base64.b64encode(paths.serving_key.read_bytes()).decode(),
    }
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(config))
    cluster = ExternalCluster(path)
    try:
        assert cluster.admin_token() == ""
        cluster.ssl_context()  # loads the pair; raises if the files do not match
        with cluster.http() as client:
            assert "Authorization" not in client.headers
    finally:
        cluster.close()
