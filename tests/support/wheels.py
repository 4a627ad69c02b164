"""kubeweft as a user installs it: a wheel built from a copy of the sources, in a fresh venv.

The wheel is built from a copy (setuptools writes build/ and egg-info, and the work tree is
never written to). The venv installs it with ``--no-deps`` and takes its dependencies from
this venv's site-packages, so only kubeweft itself is the wheel's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stdout


def build_wheel(tmp_path: Path) -> Path:
    """``pip wheel`` of a copy of the project (setuptools writes build/ and egg-info)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, project / name)
    shutil.copytree(
        REPO / "src",
        project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    out = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ".", cwd=project)
    (wheel,) = out.glob("kubeweft-*.whl")
    return wheel


def venv_with(wheel: Path, root: Path) -> Path:
    """A fresh virtualenv holding the wheel; its dependencies are this venv's packages.

    A ``.pth`` line only appends a directory to ``sys.path`` (the ``.pth`` files inside it
    are not processed), so this venv's editable kubeweft stays invisible there.
    """
    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=root)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-deps", "-q", wheel, cwd=root)
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=root)
    (Path(site.strip()) / "kubeweft-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv
