"""Start a project on kubeweft, as ``kubebuilder init`` and ``kubebuilder create api`` do.

``kubeweft init`` writes a project that runs and tests like this repository (a
``Makefile`` with ``make run`` and ``make test``, ``pyproject.toml``, ``config/``, a
Dockerfile, an empty ``kubeweft.App`` and a test set-up with :mod:`kubeweft.testing`,
which runs the application on the local control plane and a real PostgreSQL);
``kubeweft create api`` adds a kind: its types, a reconciler that already owns a
ConfigMap and sets a Ready condition, its registration in ``app.py`` at the
``+kubeweft:scaffold`` markers, regenerated manifests and a test. Neither overwrites a
file the user may have written, and ``--dry-run`` lists what would be written.
The templates are package data (``templates/``), filled in by :func:`files.render`.
"""

from kubeweft.scaffold.files import (
    PlannedFile,
    ScaffoldError,
    apply,
    insert_at_marker,
    insert_imports,
)
from kubeweft.scaffold.project import api_files, init_files, regenerate_manifests

__all__ = [
    "PlannedFile",
    "ScaffoldError",
    "api_files",
    "apply",
    "init_files",
    "insert_at_marker",
    "insert_imports",
    "regenerate_manifests",
]
