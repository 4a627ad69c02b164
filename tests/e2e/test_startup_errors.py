"""``kubeweft run`` that cannot start says why in one line, and exits non-zero.

Each case launches the real command as a new user would meet the failure — a second
process on a taken port, a database that is not there, a broken kubeconfig, an API
server that does not answer, a CRD that is not installed, a bare machine without the
local control plane's binaries — and checks the exit code (2 for configuration, 1 for
the rest), that exactly one ``kubeweft run: …`` line names the cause and the remedy,
and that no traceback or bare "ExceptionGroup" reaches the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubeweft.localcluster import ClusterAccess
from tests.support.crds import WEBAPP_CRD, WEBAPP_CRD_NAME, install_crd
from tests.support.postgres import free_port
from tests.support.process import kubeweft_run, spawn

KUBEWEFT = str(Path(sys.executable).parent / "kubeweft")
EXIT_TIMEOUT = 120.0
CLOSED_API_SERVER = """\
apiVersion: v1
kind: Config
clusters:
- name: closed
  cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}
users:
- name: someone
  user: {{token: not-a-real-token}}
contexts:
- name: closed
  context: {{cluster: closed, user: someone}}
current-context: closed
"""


@dataclass
class Exited:
    code: int
    stderr: str

    @property
    def line(self) -> str:
        """The one line meant for a person (the rest of stderr is the structured log)."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("kubeweft run: ")]
        assert len(lines) == 1, self.stderr
        return lines[0]

    def assert_clean(self) -> None:
        assert "Traceback" not in self.stderr, self.stderr
        assert "ExceptionGroup" not in self.stderr, self.stderr
        assert "TaskGroup" not in self.stderr, self.stderr


def clean_env(home: Path) -> dict[str, str]:
    """This environment without settings that would change what the process finds."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KUBEWEFT_")
        and key not in ("KUBECONFIG", "DATABASE_URL", "KUBEBUILDER_ASSETS")
    }
    home.mkdir(parents=True, exist_ok=True)
    return {**env, "HOME": str(home), "KUBEWEFT_LOG_FORMAT": "json"}


def run_until_exit(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Exited:
    command = [KUBEWEFT, "run", "--state-dir", str(tmp_path / "state"), *args]
    done = subprocess.run(
        command,
        env=env or clean_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    exited = Exited(done.returncode, done.stderr)
    exited.assert_clean()
    return exited


# --- no cluster needed ----------------------------------------------------------------


def test_invalid_setting_is_a_usage_error(tmp_path: Path) -> None:
    exited = run_until_exit(tmp_path, "--workers", "0")
    assert exited.code == 2
    assert "invalid configuration: workers:" in exited.line
    assert "--workers / KUBEWEFT_WORKERS" in exited.line


def test_unparsable_kubeconfig_is_a_configuration_error(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("clusters: [unterminated")
    exited = run_until_exit(tmp_path, "--kubeconfig", str(kubeconfig), "--no-local-cluster")
    assert exited.code == 2
    assert f"cannot load the kubeconfig {kubeconfig}:" in exited.line
    assert "--kubeconfig or KUBECONFIG" in exited.line


def test_missing_kubeconfig_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "kubeconfig"
    exited = run_until_exit(tmp_path, "--kubeconfig", str(missing), "--no-local-cluster")
    assert exited.code == 2
    assert f"cannot load the kubeconfig {missing}:" in exited.line
    assert "not found" in exited.line


def test_no_kubernetes_at_all_is_a_configuration_error(tmp_path: Path) -> None:
    exited = run_until_exit(tmp_path, "--no-local-cluster")
    assert exited.code == 2
    assert "no Kubernetes configuration" in exited.line
    assert "KUBEWEFT_LOCAL_CLUSTER=true" in exited.line


def test_unreachable_database(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://kubeweft:s3cret@127.0.0.1:{port}/kubeweft"
    exited = run_until_exit(tmp_path, "--database-url", url, "--no-local-cluster")
    assert exited.code == 1
    assert f"the database postgresql+asyncpg://kubeweft:***@127.0.0.1:{port}/kubeweft" in (
        exited.line
    )
    assert "cannot be used: ConnectionRefusedError" in exited.line
    assert "KUBEWEFT_DATABASE_URL" in exited.line
    assert "s3cret" not in exited.stderr


def test_unreachable_api_server(tmp_path: Path) -> None:
    port = free_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(CLOSED_API_SERVER.format(port=port))
    exited = run_until_exit(tmp_path, "--kubeconfig", str(kubeconfig))
    assert exited.code == 1
    assert f"the Kubernetes API server https://127.0.0.1:{port} did not answer" in exited.line
    assert "--context" in exited.line


def test_local_control_plane_binaries_missing(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    exited = run_until_exit(tmp_path, "--local-cluster", env=env)
    assert exited.code == 1
    assert "the local control plane cannot start" in exited.line
    assert "`make localcluster` or `kubeweft cluster build`" in exited.line


# --- against the local control plane -----------------------------------------------------


@pytest.mark.localcluster
def test_second_process_on_a_taken_port(local_cluster: ClusterAccess, tmp_path: Path) -> None:
    with kubeweft_run(local_cluster.kubeconfig_path, tmp_path, name="first") as first:
        for option, port, what in (
            ("--probe-port", first.probe_port, "probe server"),
            ("--api-port", first.api_port, "REST API"),
        ):
            second = spawn(
                local_cluster.kubeconfig_path,
                tmp_path,
                option,
                str(port),
                name=f"second{option}",
            )
            code = second.popen.wait(timeout=EXIT_TIMEOUT)
            exited = Exited(code, second.log())
            exited.assert_clean()
            assert exited.code == 1
            assert f"the {what} cannot listen on 127.0.0.1:{port}" in exited.line
            assert "already in use" in exited.line
            assert option in exited.line
        assert first.alive()


@pytest.mark.localcluster
def test_crd_not_installed(local_cluster: ClusterAccess, tmp_path: Path) -> None:
    local_cluster.kubectl("delete", "crd", WEBAPP_CRD_NAME, "--ignore-not-found", "--wait")
    try:
        process = spawn(local_cluster.kubeconfig_path, tmp_path, "--no-install-crds")
        exited = Exited(process.popen.wait(timeout=EXIT_TIMEOUT), process.log())
        exited.assert_clean()
        assert exited.code == 1
        assert f"the CRD {WEBAPP_CRD_NAME} is not installed" in exited.line
        assert "kubectl apply -k config/crd" in exited.line
        assert "KUBEWEFT_INSTALL_CRDS=true" in exited.line
    finally:
        install_crd(local_cluster, WEBAPP_CRD, WEBAPP_CRD_NAME)


def test_one_line_even_for_an_unforeseen_failure(tmp_path: Path) -> None:
    """A failure no step anticipated still ends in one line, not a traceback."""
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    exited = run_until_exit(tmp_path, "--no-local-cluster")
    assert exited.code == 1
    assert exited.line.startswith("kubeweft run: kubeweft could not start:")


@pytest.mark.localcluster
def test_unsafe_authentication_setting_is_a_configuration_error(
    local_cluster: ClusterAccess, tmp_path: Path
) -> None:
    process = spawn(
        local_cluster.kubeconfig_path,
        tmp_path,
        "--mode",
        "production",
        env={"KUBEWEFT_JWT_HS256_SECRET": "s" * 64},
        dev_user=None,
    )
    exited = Exited(process.popen.wait(timeout=EXIT_TIMEOUT), process.log())
    exited.assert_clean()
    assert exited.code == 2
    assert "invalid configuration: KUBEWEFT_JWT_AUDIENCE" in exited.line


@pytest.mark.localcluster
def test_a_plain_http_oidc_issuer_is_a_configuration_error(
    local_cluster: ClusterAccess, tmp_path: Path
) -> None:
    env = {"KUBEWEFT_OIDC_ISSUER_URL": "http://idp.example", "KUBEWEFT_OIDC_CLIENT_ID": "kw"}
    process = spawn(local_cluster.kubeconfig_path, tmp_path, env=env, dev_user=None)
    exited = Exited(process.popen.wait(timeout=EXIT_TIMEOUT), process.log())
    exited.assert_clean()
    assert exited.code == 2
    assert "invalid configuration: KUBEWEFT_OIDC_ISSUER_URL" in exited.line
    assert "must use https" in exited.line
