"""Test set-up of the backup project: its sources and kubeweft's local control plane.

The project's package lives in ``src/`` (put on ``sys.path`` here, as an editable
install would). Its integration test runs the real command against the local control
plane of kubeweft's pytest plugin, with the helpers of ``kubeweft.testing``.
"""

import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

if str(PROJECT / "src") not in sys.path:
    sys.path.insert(0, str(PROJECT / "src"))

pytest_plugins = ["kubeweft.localcluster.pytest_plugin"]
