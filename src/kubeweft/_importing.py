"""Load a user's object named as ``package.module:attribute``, as uvicorn does.

The ``kubeweft`` console script starts with its own ``bin/`` directory on ``sys.path``,
not the directory it was run from, so a project's own package (``greeter/`` beside its
``pyproject.toml``) would not import without ``PYTHONPATH=.``. The command line puts
the current directory first, as ``uvicorn main:app`` does, and says which part of the
string it could not resolve: its form, the module, or the attribute.
"""

from __future__ import annotations

import importlib
import os
import sys


class ImportFromStringError(Exception):
    """``module:attribute`` is malformed, or its module or attribute cannot be found."""


def import_from_string(spec: str) -> object:
    """``"shop.app:app"`` → the ``app`` attribute of module ``shop.app``.

    The attribute may be dotted (``"shop.app:factory.app"``). The current directory is
    put first on ``sys.path``. An error raised while the module runs (a syntax error, a
    failing import of something installed) propagates unchanged, with its traceback.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise ImportFromStringError(
            f'{spec!r} is not of the form "module:attribute" (for example "shop.app:app")'
        )
    cwd = os.getcwd()
    if not sys.path or sys.path[0] != cwd:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not _is_module_or_parent(error.name, module_name):
            raise
        raise ImportFromStringError(
            f'module "{module_name}" not found (no module named "{error.name}" in {cwd} '
            "or on sys.path)"
        ) from error
    found: object = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as error:
            raise ImportFromStringError(
                f'module "{module_name}" has no attribute "{attribute}"'
            ) from error
    return found


def _is_module_or_parent(missing: str, module_name: str) -> bool:
    """Whether ``missing`` is ``module_name`` or one of its packages (``a``, ``a.b``)."""
    return module_name == missing or module_name.startswith(missing + ".")
