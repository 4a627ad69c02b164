"""``kubeweft create webhook --conversion``: a second, stored version of a kind, the
first one converted to it; the project's CRD lists both and its conversion works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.scaffold.test_commands import STORE, kubeweft, shop, tree

__all__ = ["shop"]  # the fixture

CONVERT = ["create", "webhook", "--version", "v1alpha1", "--kind", "Store", "--conversion"]


def test_conversion_makes_the_hub_converts_the_spoke_and_regenerates_the_crd(shop: Path) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    done = kubeweft(*CONVERT, "--hub", "v1", "--dir", str(shop))
    assert done.exit_code == 0, done.stderr
    written = tree(shop)
    assert 'version="v1"' in written["src/shop/api/v1/store_types.py"]
    spoke = written["src/shop/api/v1alpha1/store_types.py"]
    assert "class Store(StoreConversion, CustomResource):" in spoke
    assert "from shop.api.v1alpha1.store_conversion import StoreConversion" in spoke
    conversion = written["src/shop/api/v1alpha1/store_conversion.py"]
    assert "def convert_to(self, restored: hub.Store | None) -> hub.Store:" in conversion
    app_py = written["src/shop/app.py"]
    assert "from shop.api.v1.store_types import Store" in app_py
    assert "app.add_model(Store, spokes=(v1alpha1_store.Store,))" in app_py
    assert "from shop.api.v1.store_types import Store" in written["src/shop/controllers/store.py"]
    (crd,) = yaml.safe_load_all(written["config/crd/bases/shop.example.com_stores.yaml"])
    assert [(v["name"], v["storage"]) for v in crd["spec"]["versions"]] == [
        ("v1", True),
        ("v1alpha1", False),
    ]
    assert crd["spec"]["conversion"]["strategy"] == "Webhook"
    assert "config/webhook/service.yaml" in written
    assert "- ../webhook" in written["config/default/kustomization.yaml"].splitlines()
    cert_manager = yaml.safe_load(written["config/cert-manager/kustomization.yaml"])
    assert cert_manager["components"] == ["../crd/patches"]
    assert "config/crd/patches/kustomization.yaml" in written

    # The project's own conversion works as scaffolded, and the project still lints.
    script = (
        "import json, sys\n"
        "from shop.app import app\n"
        "(conversion,) = app.conversions\n"
        "obj = {'apiVersion': 'shop.example.com/v1alpha1', 'kind': 'Store',\n"
        "       'metadata': {'name': 's'}, 'spec': {'message': 'hi'}}\n"
        "print(json.dumps(conversion.convert(obj, 'shop.example.com/v1')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=shop,
        env={"PYTHONPATH": str(shop / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    converted = json.loads(run.stdout)
    assert (converted["apiVersion"], converted["spec"]) == (
        "shop.example.com/v1",
        {"message": "hi"},
    )
    ruff = str(Path(sys.executable).parent / "ruff")
    for command in ([ruff, "check", "src"], [ruff, "format", "--check", "src"]):
        checked = subprocess.run(command, cwd=shop, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_conversion_needs_a_hub_and_no_admission_rule(shop: Path) -> None:
    assert kubeweft("create", "api", *STORE, "--dir", str(shop)).exit_code == 0
    for extra in ([], ["--hub", "v1", "--validation"]):
        refused = kubeweft(*CONVERT, *extra, "--dir", str(shop))
        assert refused.exit_code == 1
        assert "--conversion takes --hub" in refused.stderr
    same = kubeweft(*CONVERT, "--hub", "v1alpha1", "--dir", str(shop))
    assert same.exit_code == 1
    assert "--hub names another version" in same.stderr
