"""``kubeweft manifests``: the checked-in config/ equals a fresh run (the CI drift check)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from kubeweft.codegen import drift, generated_files, write
from kubeweft.codegen.cli import manifests_command
from kubeweft.codegen.manifests import HEADER, GeneratedFile
from kubeweft.examples.webapp import app as webapp_app
from kubeweft.examples.webapp.api.v1 import WebApp
from kubeweft.localcluster.pytest_plugin import unavailable

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "config"


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(manifests_command)
    return app


def shipped_files() -> list[GeneratedFile]:
    """What ``kubeweft manifests`` writes for the shipped application."""
    return generated_files(
        list(webapp_app.models),
        webhooks=webapp_app.webhooks,
        app_name=webapp_app.name,
        conversions=webapp_app.conversions,
    )


def test_checked_in_manifests_are_up_to_date() -> None:
    diff = drift(shipped_files(), CONFIG)
    assert diff == "", f"config/ is stale; run `kubeweft manifests`:\n{diff}"


def test_console_script_check_passes_on_the_repository() -> None:
    kubeweft = Path(sys.executable).parent / "kubeweft"
    if not kubeweft.exists():
        unavailable(f"console script not installed next to {sys.executable}")
    done = subprocess.run(
        [str(kubeweft), "manifests", "--check", "--output", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout


def test_generated_files_are_yaml_with_header() -> None:
    for file in generated_files([WebApp]):
        assert file.text.startswith(HEADER)
        assert all(isinstance(doc, dict) for doc in yaml.safe_load_all(file.text))
    names = {str(file.path) for file in generated_files([WebApp])}
    assert "crd/bases/kubeweft.dev_webapps.yaml" in names
    assert "rbac/role.yaml" in names
    webhook_names = {str(file.path) for file in shipped_files()} - names
    assert webhook_names == {
        "webhook/manifests.yaml",
        "webhook/service.yaml",
        "webhook/certificate_rbac.yaml",
        "webhook/kustomization.yaml",
        "crd/patches/kustomization.yaml",  # WebApp has two versions
        "crd/kustomizeconfig.yaml",
    }


def test_check_covers_the_webhook_configurations(tmp_path: Path) -> None:
    write(shipped_files(), tmp_path)
    configs = tmp_path / "webhook" / "manifests.yaml"
    configs.write_text(configs.read_text().replace("failurePolicy: Fail", "failurePolicy: Ignore"))
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "--- a/webhook/manifests.yaml" in result.output
    assert "+  failurePolicy: Fail" in result.output


def test_check_fails_with_a_diff_when_a_file_was_edited(tmp_path: Path) -> None:
    write(generated_files([WebApp]), tmp_path)
    role = tmp_path / "rbac" / "role.yaml"
    role.write_text(role.read_text().replace("- watch\n", "- watch\n- deletecollection\n", 1))
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "--- a/rbac/role.yaml" in result.output
    assert "-- deletecollection" in result.output


def test_check_fails_when_a_file_is_missing_and_write_restores_it(tmp_path: Path) -> None:
    write(generated_files([WebApp]), tmp_path)
    crd = tmp_path / "crd" / "bases" / "kubeweft.dev_webapps.yaml"
    crd.unlink()
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "+++ b/crd/bases/kubeweft.dev_webapps.yaml" in result.output
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path)])
    assert result.exit_code == 0
    assert crd.exists()
    assert CliRunner().invoke(cli(), ["--output", str(tmp_path), "--check"]).exit_code == 0


def test_more_models_and_stale_files(tmp_path: Path) -> None:
    runner = CliRunner()
    both = [
        "--model",
        "kubeweft.examples.webapp.api.v1:WebApp",
        "--model",
        "tests.support.models:CronTab",
    ]
    assert runner.invoke(cli(), ["--output", str(tmp_path), *both]).exit_code == 0
    crontab = tmp_path / "crd" / "bases" / "test.kubeweft.dev_crontabs.yaml"
    assert crontab.exists()
    assert (
        "bases/test.kubeweft.dev_crontabs.yaml" in (tmp_path / "crd/kustomization.yaml").read_text()
    )
    # Dropping the model leaves its generated files stale: --check says so, write removes them.
    result = runner.invoke(cli(), ["--output", str(tmp_path), "--check"])
    assert result.exit_code == 1
    assert "stale generated file" in result.output
    assert runner.invoke(cli(), ["--output", str(tmp_path)]).exit_code == 0
    assert not crontab.exists()
    assert not (tmp_path / "rbac" / "crontab_editor_role.yaml").exists()


def test_hand_written_files_are_never_touched(tmp_path: Path) -> None:
    shutil.copytree(CONFIG, tmp_path / "config")
    hand_written = tmp_path / "config" / "rbac" / "extra.yaml"
    hand_written.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path / "config")])
    assert result.exit_code == 0
    assert hand_written.exists()
    assert (tmp_path / "config" / "manager" / "manager.yaml").read_text() == (
        CONFIG / "manager" / "manager.yaml"
    ).read_text()


def test_there_is_no_impersonation_flag(tmp_path: Path) -> None:
    """Impersonation was removed (docs/design/auth.md): the flag is refused, not ignored."""
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path), "--impersonation"])
    assert result.exit_code == 2
    assert "impersonate" not in (CONFIG / "rbac" / "role.yaml").read_text()


@pytest.mark.parametrize(
    "spec", ["kubeweft.examples.webapp.api.v1", "kubeweft.api:ObjectMeta", "nope:X"]
)
def test_bad_model_specs_exit_2(tmp_path: Path, spec: str) -> None:
    result = CliRunner().invoke(cli(), ["--output", str(tmp_path), "--model", spec])
    assert result.exit_code == 2
