"""``kubeweft init`` and ``kubeweft create api`` on a temporary directory."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from kubeweft.cli import app
from kubeweft.scaffold import project

INIT_FILES = {
    "pyproject.toml",
    "Makefile",
    "hack/system-deps.sh",
    "Dockerfile",
    ".gitignore",
    "README.md",
    "src/shop/__init__.py",
    "src/shop/app.py",
    "src/shop/migrations/__init__.py",
    "tests/conftest.py",
    "tests/test_manifests.py",
    "config/default/kustomization.yaml",
    "config/manager/kustomization.yaml",
    "config/manager/manager.yaml",
    "config/crd/kustomization.yaml",
    "config/rbac/kustomization.yaml",
    "config/rbac/role.yaml",
}
API_FILES = {
    "src/shop/api/__init__.py",
    "src/shop/api/v1alpha1/__init__.py",
    "src/shop/api/v1alpha1/store_types.py",
    "src/shop/controllers/__init__.py",
    "src/shop/controllers/store.py",
    "config/samples/shop.example.com_v1alpha1_store.yaml",
    "tests/test_store.py",
}
STORE = ["--group", "shop", "--version", "v1alpha1", "--kind", "Store"]


def kubeweft(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    done = kubeweft("init", "shop", "--domain", "example.com", "--dir", str(tmp_path))
    assert done.exit_code == 0, done.stderr
    return tmp_path


def test_init_writes_the_project(shop: Path) -> None:
    written = tree(shop)
    assert set(written) >= INIT_FILES
    assert f'"kubeweft=={metadata.version("kubeweft")}"' in written["pyproject.toml"]
    assert "+kubeweft:scaffold:imports" in written["src/shop/app.py"]
    assert '"kubeweft.testing.pytest_plugin"' in written["tests/conftest.py"]
    assert 'kubeweft_app = "shop.app:app"' in written["pyproject.toml"]
    assert "kubeweft run shop.app:app" in written["Makefile"]
    assert "test: system-deps venv localcluster" in written["Makefile"]
    assert "apt-get install" in written["hack/system-deps.sh"]
    assert "make test" in written["README.md"]


def test_the_generated_system_deps_script_is_kubeweft_s_own(shop: Path) -> None:
    # One script: kubeweft's make test runs the file every new project gets.
    own = Path(__file__).resolve().parents[3] / "hack" / "system-deps.sh"
    assert (shop / "hack" / "system-deps.sh").read_text() == own.read_text()


def test_system_deps_installs_only_the_missing_packages_and_the_extra_ones(
    shop: Path, tmp_path: Path
) -> None:
    fakes = tmp_path / "bin"
    fakes.mkdir()
    calls = tmp_path / "calls"
    for name in ("apt-get", "sudo", "service"):
        body = '"$@"' if name == "sudo" else f'echo {name} "$@" >> {calls}'
        (fakes / name).write_text(f"#!/bin/sh\n{body}\n")
        (fakes / name).chmod(0o755)
    env = {"PATH": f"{fakes}:/usr/bin:/bin"}
    script = ["bash", "hack/system-deps.sh", "no-such-tool-pkg:no-such-tool", "sh"]
    done = subprocess.run(script, cwd=shop, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (install,) = [line for line in calls.read_text().splitlines() if " install " in line]
    packages = install.split("--no-install-recommends")[1].split()
    assert "no-such-tool-pkg" in packages  # its command is missing
    assert "sh" not in packages  # present already


def test_a_project_without_models_passes_its_own_tests_until_config_drifts(shop: Path) -> None:
    # `make test` before `create api`: the drift check of config/ is the one test.
    def own_tests() -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
        return subprocess.run(command, cwd=shop, capture_output=True, text=True, check=False)

    fresh = own_tests()
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "1 passed" in fresh.stdout
    role = shop / "config" / "rbac" / "role.yaml"
    role.write_text(role.read_text().replace("tokenreviews", "tokenreviewz"))
    stale = own_tests()
    assert stale.returncode == 1
    assert "config is out of date" in stale.stdout


def test_init_takes_a_kubeweft_requirement(tmp_path: Path) -> None:
    done = kubeweft(
        "init", "shop", "--domain", "example.com", "--dir", str(tmp_path),
        "--kubeweft-requirement", "kubeweft @ file:///wheels/kubeweft.whl",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert '"kubeweft @ file:///wheels/kubeweft.whl"' in (tmp_path / "pyproject.toml").read_text()


def test_init_dry_run_names_every_file_and_writes_nothing(tmp_path: Path) -> None:
    done = kubeweft("init", "shop", "--domain", "example.com", "--dir", str(tmp_path), "--dry-run")
    assert done.exit_code == 0, done.stderr
    said = {line.removeprefix("would write ") for line in done.stdout.splitlines()}
    assert said >= INIT_FILES
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_to_overwrite_a_file(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n")
    done = kubeweft("init", "shop", "--domain", "example.com", "--dir", str(tmp_path))
    assert done.exit_code == 1
    assert done.stderr == "kubeweft init: Makefile exists; refusing to overwrite it\n"
    assert [p.name for p in tmp_path.iterdir()] == ["Makefile"]
    assert (tmp_path / "Makefile").read_text() == "all:\n"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["Shop", "--domain", "example.com"], "the project name 'Shop' is not valid"),
        (["shop", "--domain", "Example_com"], "the domain 'Example_com' is not valid"),
    ],
)
def test_init_refuses_bad_names(tmp_path: Path, args: list[str], says: str) -> None:
    done = kubeweft("init", *args, "--dir", str(tmp_path))
    assert done.exit_code == 1
    assert says in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_create_api_writes_the_kind_registers_it_and_regenerates_config(shop: Path) -> None:
    done = kubeweft("create", "api", *STORE, "--dir", str(shop))
    assert done.exit_code == 0, done.stderr
    written = tree(shop)
    assert set(written) >= API_FILES
    app_py = written["src/shop/app.py"].splitlines()
    imports = app_py.index("# +kubeweft:scaffold:imports")
    assert app_py[imports - 3 : imports] == [
        "from shop.api.v1alpha1.store_types import Store",
        "from shop.controllers.store import StoreReconciler",
        "",
    ]
    models = app_py.index("# +kubeweft:scaffold:models")
    assert app_py[models - 2 : models] == [
        "app.add_model(Store)",
        "app.add_controller(Store, StoreReconciler)",
    ]
    crd = yaml.safe_load(written["config/crd/bases/shop.example.com_stores.yaml"])
    assert crd["metadata"]["name"] == "stores.shop.example.com"
    assert "- bases/shop.example.com_stores.yaml" in written["config/crd/kustomization.yaml"]
    assert "configmaps" in written["config/rbac/role.yaml"]


def test_create_api_dry_run_writes_nothing(shop: Path) -> None:
    before = tree(shop)
    done = kubeweft("create", "api", *STORE, "--dir", str(shop), "--dry-run")
    assert done.exit_code == 0, done.stderr
    said = done.stdout.splitlines()
    assert {f"would write {path}" for path in API_FILES} <= set(said)
    assert "would change src/shop/app.py" in said
    assert tree(shop) == before


def test_create_api_refuses_an_existing_kind_and_changes_nothing(shop: Path) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    (shop / "src/shop/controllers/store.py").write_text("# my reconciler\n")
    before = tree(shop)
    done = kubeweft("create", "api", *STORE, "--dir", str(shop))
    assert done.exit_code == 1
    assert done.stderr == (
        "kubeweft create api: src/shop/api/v1alpha1/store_types.py exists; "
        "refusing to overwrite it\n"
    )
    assert tree(shop) == before


def test_a_second_kind_is_registered_beside_the_first(shop: Path) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    done = kubeweft(
        "create", "api", "--group", "shop", "--version", "v1", "--kind", "Shelf",
        "--dir", str(shop),
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    app_py = (shop / "src/shop/app.py").read_text()
    assert app_py.count("app.add_model(Store)") == 1
    assert "app.add_controller(Shelf, ShelfReconciler)" in app_py
    assert (shop / "config/crd/bases/shop.example.com_shelves.yaml").is_file()


def test_the_project_passes_its_own_lint_after_two_kinds(shop: Path) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    shelf = ["--group", "shop", "--version", "v1", "--kind", "Shelf"]
    assert kubeweft("create", "api", *shelf, "--dir", str(shop)).exit_code == 0
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in ([ruff, "check", "src", "tests"], [ruff, "format", "--check", "src", "tests"]):
        done = subprocess.run(command, cwd=shop, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_plural_overrides_the_resource_name(shop: Path) -> None:
    done = kubeweft("create", "api", *STORE, "--plural", "shops", "--dir", str(shop))
    assert done.exit_code == 0, done.stderr
    crd = yaml.safe_load((shop / "config/crd/bases/shop.example.com_shops.yaml").read_text())
    assert crd["spec"]["names"]["plural"] == "shops"
    assert '"/api/shops"' in (shop / "tests/test_store.py").read_text()


def test_a_bad_plural_is_refused(shop: Path) -> None:
    before = tree(shop)
    done = kubeweft("create", "api", *STORE, "--plural", "Stores!", "--dir", str(shop))
    assert done.exit_code == 1
    assert "the plural 'Stores!' is not valid" in done.stderr
    assert tree(shop) == before


def test_create_api_outside_a_project_is_one_line(tmp_path: Path) -> None:
    done = kubeweft("create", "api", *STORE, "--dir", str(tmp_path))
    assert done.exit_code == 1
    assert done.stderr.startswith("kubeweft create api: ")
    assert "not a kubeweft project" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("Store", "stores"),
        ("Shelf", "shelves"),
        ("Policy", "policies"),
        ("Gateway", "gateways"),
        ("Box", "boxes"),
        ("Status", "statuses"),
        ("Index", "indices"),
        ("Person", "people"),
    ],
)
def test_plural_of(kind: str, plural: str) -> None:
    assert project.plural_of(kind) == plural


def test_create_webhook_writes_the_rules_registers_them_and_generates_config(
    shop: Path,
) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    done = kubeweft(
        "create", "webhook", "--version", "v1alpha1", "--kind", "Store",
        "--defaulting", "--validation", "--dir", str(shop),
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    written = tree(shop)
    rules = written["src/shop/webhooks/store.py"]
    assert "class StoreDefaulter:" in rules
    assert "class StoreValidator(CustomValidator):" in rules
    app_py = written["src/shop/app.py"].splitlines()
    models = app_py.index("# +kubeweft:scaffold:models")
    assert app_py[models - 1] == (
        "app.add_webhook(Store, defaulter=StoreDefaulter(), validator=StoreValidator())"
    )
    assert "from shop.webhooks.store import StoreDefaulter, StoreValidator" in app_py
    configurations = list(yaml.safe_load_all(written["config/webhook/manifests.yaml"]))
    assert [c["kind"] for c in configurations] == [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ]
    assert configurations[1]["webhooks"][0]["clientConfig"]["service"]["path"] == (
        "/validate-shop-example-com-v1alpha1-store"
    )
    # The project still passes its own lint with the new module.
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in ([ruff, "check", "src"], [ruff, "format", "--check", "src"]):
        checked = subprocess.run(command, cwd=shop, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_create_webhook_needs_a_rule_and_an_existing_kind(shop: Path) -> None:
    webhook = ["create", "webhook", "--version", "v1alpha1", "--kind", "Store"]
    missing = kubeweft(*webhook, "--validation", "--dir", str(shop))
    assert missing.exit_code == 1
    assert "run kubeweft create api for Store first" in missing.stderr
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    neither = kubeweft(*webhook, "--dir", str(shop))
    assert neither.exit_code == 1
    assert "give --defaulting, --validation or both" in neither.stderr
