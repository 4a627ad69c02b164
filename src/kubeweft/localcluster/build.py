"""Build and cache the control-plane binaries from the Go modules shipped in ``go/``.

The Go modules are package data (``kubeweft/localcluster/go/``), so an installed wheel
builds the same binaries as a checkout. This module is the single source of truth for
where the binaries live. The cache key is the pinned Kubernetes version plus a hash of
every ``go.mod``, ``go.sum`` and ``*.go`` file of the Go modules, taken relative to
``go/``, so a checkout and every wheel of the same sources share one cache entry and
every later ``make test`` reuses it; changing a pin or the multi-call ``main.go`` gives a
new directory. A build compiles a copy of the sources (the installed package may be
read-only) into a temporary directory beside the cache entry and renames it into place,
so a killed build never leaves a half-filled entry behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MULTICALL = "kubeweft-k8s"
# The names the multi-call binary answers to (symlinks beside it).
MULTICALL_COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
)
KWOK = "kwok"
_DEFAULT_GO = "/usr/local/go/bin/go"  # the official tarball's place, often not on PATH


class BinariesUnavailable(RuntimeError):
    """The control-plane binaries are neither cached nor buildable here."""


@dataclass(frozen=True)
class Binaries:
    """Paths of the executables a local cluster runs.

    ``kube_controller_manager``, ``kube_scheduler`` and ``kwok`` may be missing when the
    binaries come from a ``KUBEBUILDER_ASSETS`` directory (setup-envtest ships only
    etcd, kube-apiserver and kubectl) and no build is cached.
    """

    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    kube_controller_manager: Path | None
    kube_scheduler: Path | None
    kwok: Path | None
    source: str

    def missing(self) -> list[str]:
        names = {
            "kube-controller-manager": self.kube_controller_manager,
            "kube-scheduler": self.kube_scheduler,
            "kwok": self.kwok,
        }
        return [name for name, path in names.items() if path is None]


def source_dir() -> Path | None:
    """The Go modules shipped with this package, or None if they were stripped from it."""
    override = os.environ.get("KUBEWEFT_LOCALCLUSTER_SOURCE")
    candidates = [Path(override)] if override else []
    candidates.append(Path(__file__).resolve().parent / "go")
    for candidate in candidates:
        if (candidate / "go.mod").is_file() and (candidate / "kwok" / "go.mod").is_file():
            return candidate
    return None


def kubernetes_version(src: Path) -> str:
    """The ``k8s.io/kubernetes`` version pinned in ``src/go.mod`` (e.g. ``v1.37.2``)."""
    match = re.search(r"^\s*k8s\.io/kubernetes\s+(v\S+)", (src / "go.mod").read_text(), re.M)
    if match is None:
        raise BinariesUnavailable(f"{src / 'go.mod'} does not require k8s.io/kubernetes")
    return match.group(1)


def source_files(src: Path) -> list[Path]:
    """Every file whose content decides what the build produces, in a stable order."""
    files = [
        path
        for path in src.rglob("*")
        if path.is_file() and (path.name in ("go.mod", "go.sum") or path.suffix == ".go")
    ]
    return sorted(files, key=lambda path: path.relative_to(src).as_posix())


def source_hash(src: Path) -> str:
    digest = hashlib.sha256()
    for path in source_files(src):
        digest.update(path.relative_to(src).as_posix().encode())
        digest.update(b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def copy_sources(src: Path, dest: Path) -> Path:
    """Copy the build inputs of ``src`` to ``dest``, writable whatever their mode was.

    ``go build`` runs in the copy: an installed package may be read-only, and the build
    must never write into it.
    """
    for path in source_files(src):
        target = dest / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return dest


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kubeweft"


def cache_key(src: Path) -> str:
    return f"k8s-{kubernetes_version(src)}-{source_hash(src)[:12]}"


def cache_dir(src: Path) -> Path:
    """``~/.cache/kubeweft/k8s-<version>-<hash12>``; the executables are in its ``bin/``."""
    return cache_root() / cache_key(src)


def _complete(bin_dir: Path) -> bool:
    names = (MULTICALL, *MULTICALL_COMPONENTS, KWOK)
    return all(os.access(bin_dir / name, os.X_OK) for name in names)


def _from_bin_dir(bin_dir: Path, source: str) -> Binaries:
    return Binaries(
        etcd=bin_dir / "etcd",
        kube_apiserver=bin_dir / "kube-apiserver",
        kubectl=bin_dir / "kubectl",
        kube_controller_manager=bin_dir / "kube-controller-manager",
        kube_scheduler=bin_dir / "kube-scheduler",
        kwok=bin_dir / KWOK,
        source=source,
    )


def cached_bin_dir() -> Path | None:
    """The cached ``bin/`` directory for this checkout, if it is complete."""
    src = source_dir()
    if src is None:
        return None
    bin_dir = cache_dir(src) / "bin"
    return bin_dir if _complete(bin_dir) else None


def _from_assets(assets: Path) -> Binaries:
    required = {name: assets / name for name in ("etcd", "kube-apiserver", "kubectl")}
    absent = [str(path) for path in required.values() if not os.access(path, os.X_OK)]
    if absent:
        raise BinariesUnavailable(f"KUBEBUILDER_ASSETS={assets} lacks {', '.join(absent)}")
    built = cached_bin_dir()

    def optional(name: str) -> Path | None:
        for directory in (assets, built):
            if directory is not None and os.access(directory / name, os.X_OK):
                return directory / name
        return None

    return Binaries(
        etcd=required["etcd"],
        kube_apiserver=required["kube-apiserver"],
        kubectl=required["kubectl"],
        kube_controller_manager=optional("kube-controller-manager"),
        kube_scheduler=optional("kube-scheduler"),
        kwok=optional(KWOK),
        source=f"KUBEBUILDER_ASSETS={assets}",
    )


def find_binaries() -> Binaries:
    """The binaries to run, without building: ``KUBEBUILDER_ASSETS`` first, then the cache.

    Raises ``BinariesUnavailable`` saying what to do when neither has them.
    """
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        return _from_assets(Path(assets))
    bin_dir = cached_bin_dir()
    if bin_dir is not None:
        return _from_bin_dir(bin_dir, f"cache {bin_dir}")
    src = source_dir()
    if src is None:
        raise BinariesUnavailable(
            "no control-plane binaries: this kubeweft is installed without its Go modules "
            "(kubeweft/localcluster/go/), so it cannot build them; set "
            "KUBEBUILDER_ASSETS to a directory holding etcd, kube-apiserver and kubectl"
        )
    raise BinariesUnavailable(
        f"control-plane binaries are not built yet (expected in {cache_dir(src) / 'bin'}); "
        "run `make localcluster` or `kubeweft cluster build`"
    )


def go_executable() -> str:
    found = shutil.which("go")
    if found is None and Path(_DEFAULT_GO).exists():
        found = _DEFAULT_GO
    if found is None:
        raise BinariesUnavailable("the Go toolchain (`go`) is not on PATH; install Go to build")
    return found


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build per cache entry at a time, across processes (two pytest sessions...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_built(*, progress: IO[str] | None = None) -> Path:
    """Return the cached ``bin/`` directory, building it first when missing."""
    src = source_dir()
    if src is None:
        raise BinariesUnavailable(
            "cannot build the control plane: the Go modules (kubeweft/localcluster/go/) are "
            "not installed with this kubeweft"
        )
    entry = cache_dir(src)
    if _complete(entry / "bin"):
        return entry / "bin"
    out = progress if progress is not None else sys.stderr
    with _locked(entry.with_name(entry.name + ".lock")):
        if _complete(entry / "bin"):
            return entry / "bin"
        go = go_executable()
        # Staging dirs of builds that were killed (we hold the lock, so none is live).
        for stale in entry.parent.glob(f".{entry.name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
        try:
            bin_dir = staging / "bin"
            bin_dir.mkdir()
            sources = copy_sources(src, staging / "src")
            started = time.monotonic()
            _go_build(
                go,
                sources,
                ["-trimpath", "-ldflags", "-s -w", "-o", str(bin_dir / MULTICALL)],
                "./cmd/kubeweft-k8s",
                out,
            )
            _go_build(
                go,
                sources / "kwok",
                ["-trimpath", "-ldflags", "-s -w", "-o", str(bin_dir / KWOK)],
                "sigs.k8s.io/kwok/cmd/kwok",
                out,
            )
            for name in MULTICALL_COMPONENTS:
                (bin_dir / name).symlink_to(MULTICALL)
            shutil.rmtree(sources)
            if entry.exists():
                shutil.rmtree(entry)
            staging.rename(entry)
            print(f"built {entry / 'bin'} in {_clock(time.monotonic() - started)}", file=out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return entry / "bin"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _go_build(go: str, module: Path, flags: list[str], package: str, out: IO[str]) -> None:
    """``go build -v``, turning its per-package lines into a periodic progress line."""
    label = package.rsplit("/", 1)[-1]
    total = _count_packages(go, module, package)
    print(f"[{label}] building {package} ({total or '?'} packages) in {module}", file=out)
    command = [go, "build", "-v", *flags, package]
    proc = subprocess.Popen(
        command, cwd=module, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    started = time.monotonic()
    compiled = 0
    tail: list[str] = []
    stop = threading.Event()

    def report() -> None:
        while not stop.wait(15.0):
            done = f"{compiled}/{total}" if total else str(compiled)
            elapsed = _clock(time.monotonic() - started)
            print(f"[{label}] {done} packages compiled, {elapsed}", file=out, flush=True)

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    try:
        for line in proc.stdout:
            compiled += 1
            tail = [*tail[-40:], line.rstrip()]
        code = proc.wait()
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        raise BinariesUnavailable(
            f"`{' '.join(command)}` failed in {module} (exit {code}):\n" + "\n".join(tail)
        )
    print(f"[{label}] done in {_clock(time.monotonic() - started)}", file=out, flush=True)


def _count_packages(go: str, module: Path, package: str) -> int | None:
    listed = subprocess.run(
        [go, "list", "-deps", package],
        cwd=module,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        return None
    return len(listed.stdout.split())
