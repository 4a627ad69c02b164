"""The cache key decides when the control plane is rebuilt: it must change with the
pinned version or any Go source, and with nothing else."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from kubeweft.localcluster import build

GO_MOD = """module example.dev/localcluster

go 1.26.0

require (
\tgo.etcd.io/etcd/server/v3 v3.7.0
\tk8s.io/kubernetes v1.37.2
)
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "localcluster"
    (src / "cmd" / "bin").mkdir(parents=True)
    (src / "kwok").mkdir()
    (src / "go.mod").write_text(GO_MOD)
    (src / "go.sum").write_text("k8s.io/kubernetes v1.37.2 h1:abc=\n")
    (src / "cmd" / "bin" / "main.go").write_text("package main\n")
    (src / "kwok" / "go.mod").write_text("module example.dev/kwok\n")
    (src / "README.md").write_text("not an input\n")
    return src


def test_key_names_the_pinned_kubernetes_version(source: Path) -> None:
    assert build.kubernetes_version(source) == "v1.37.2"
    key = build.cache_key(source)
    assert key.startswith("k8s-v1.37.2-")
    assert len(key) == len("k8s-v1.37.2-") + 12


def test_key_is_stable_and_ignores_files_that_are_not_build_inputs(source: Path) -> None:
    before = build.cache_key(source)
    (source / "README.md").write_text("edited\n")
    (source / "notes.txt").write_text("new\n")
    assert build.cache_key(source) == before


@pytest.mark.parametrize("path", ["go.sum", "kwok/go.mod", "cmd/bin/main.go"])
def test_key_changes_when_a_build_input_changes(source: Path, path: str) -> None:
    before = build.cache_key(source)
    with (source / path).open("a") as file:
        file.write("// changed\n")
    assert build.cache_key(source) != before


def test_key_changes_when_a_go_file_is_added(source: Path) -> None:
    before = build.cache_key(source)
    (source / "cmd" / "bin" / "extra.go").write_text("package main\n")
    assert build.cache_key(source) != before


def test_cache_dir_follows_xdg_cache_home(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert build.cache_dir(source) == tmp_path / "xdg" / "kubeweft" / build.cache_key(source)


def test_kubebuilder_assets_supply_the_envtest_binaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("etcd", "kube-apiserver", "kubectl", "kwok"):
        (assets / name).write_text("#!/bin/sh\n")
        (assets / name).chmod(0o755)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))

    found = build.find_binaries()

    assert found.kube_apiserver == assets / "kube-apiserver"
    assert found.kwok == assets / "kwok"
    assert found.missing() == ["kube-controller-manager", "kube-scheduler"]


def test_kubebuilder_assets_without_apiserver_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path))
    with pytest.raises(build.BinariesUnavailable, match="kube-apiserver"):
        build.find_binaries()


def test_an_empty_cache_says_how_to_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(build.BinariesUnavailable, match="kubeweft cluster build"):
        build.find_binaries()


FAKE_GO = """#!/bin/sh
# Records where it runs; `build -o OUT` writes OUT; `list -deps` names one package.
echo "$PWD" >> "$GO_LOG"
if [ "$1" = list ]; then echo example.dev/pkg; exit 0; fi
while [ $# -gt 0 ]; do
  if [ "$1" = -o ]; then printf '#!/bin/sh\\n' > "$2"; chmod +x "$2"; fi
  shift
done
echo example.dev/pkg
"""


def test_a_build_compiles_a_copy_and_never_writes_into_the_package(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "go").write_text(FAKE_GO)
    (tools / "go").chmod(0o755)
    log = tmp_path / "go.log"
    monkeypatch.setenv("GO_LOG", str(log))
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    monkeypatch.setenv("KUBEWEFT_LOCALCLUSTER_SOURCE", str(source))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    before = {path: path.read_bytes() for path in source.rglob("*") if path.is_file()}

    bin_dir = build.ensure_built(progress=io.StringIO())

    assert bin_dir == build.cache_dir(source) / "bin"
    assert {path.name for path in bin_dir.iterdir()} >= {build.MULTICALL, build.KWOK, "etcd"}
    # The copy is gone from the entry once the binaries are in place.
    assert sorted(path.name for path in bin_dir.parent.iterdir()) == ["bin"]
    workdirs = {Path(line) for line in log.read_text().split()}
    assert workdirs, "the fake go was not run"
    assert not any(workdir.is_relative_to(source) for workdir in workdirs)
    assert {path: path.read_bytes() for path in source.rglob("*") if path.is_file()} == before


def test_the_go_modules_ship_inside_the_package() -> None:
    src = build.source_dir()
    assert src == Path(build.__file__).resolve().parent / "go"
    assert build.kubernetes_version(src).startswith("v1.")
    assert (src / "kwok" / "go.mod").is_file()
