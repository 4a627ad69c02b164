"""Test set-up of the tenant project: kubeweft's pytest plugin runs the application.

The plugin (``kubeweft.testing.pytest_plugin``) starts the local control plane and a
PostgreSQL server once per session and runs ``kubeweft run tenant.app:app`` on them
(``kubeweft_app``, with ``kubeweft_api`` its REST client); :func:`kubeweft_app_spec`
says where the project is, since these tests run under the kubeweft repository's
pytest configuration. The package lives in ``src/`` (put on ``sys.path`` here, as an
editable install would, for the unit tests).
"""

import sys
from pathlib import Path

import pytest
from kubeweft.testing import AppSpec

PROJECT = Path(__file__).resolve().parents[1]

if str(PROJECT / "src") not in sys.path:
    sys.path.insert(0, str(PROJECT / "src"))

pytest_plugins = ["kubeweft.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def kubeweft_app_spec() -> AppSpec:
    return AppSpec("tenant.app:app", root=PROJECT, pythonpath=(PROJECT / "src",))
