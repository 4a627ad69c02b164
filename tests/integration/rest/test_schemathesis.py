"""Schemathesis against the served OpenAPI, every phase and every check.

Examples, coverage (each constraint's boundary and its violation), fuzzing and stateful
sequences (create, then read, patch and delete what was created) run against a real
process on the local control plane and a real database. ``checks=all``: no 5xx, every
answer conforms to the document (status, content type, headers, schema), invalid data
is refused, valid data is accepted, an unsupported method is a 405 whose ``Allow``
lists the path's methods, and a deleted object is gone. ``schemathesis.toml`` says
which answers a JSON schema cannot predict, and why.

The run is bounded and reproducible: ``MAX_EXAMPLES`` per operation and Schemathesis's
deterministic generation, sized to a few minutes on two cores. A long run (60 examples)
is ``KUBEWEFT_SCHEMATHESIS_EXAMPLES=60``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from kubeweft.localcluster import ClusterAccess
from tests.integration.rest.stack import running

pytestmark = [pytest.mark.anyio, pytest.mark.localcluster, pytest.mark.slow]

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
MAX_EXAMPLES = int(os.environ.get("KUBEWEFT_SCHEMATHESIS_EXAMPLES", "8"))
PHASES = "examples,coverage,fuzzing,stateful"


def schemathesis_command(api_url: str, max_examples: int) -> list[str]:
    st = Path(sys.executable).parent / "st"
    return [
        str(st),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{api_url}/openapi.json",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(max_examples),
        "--generation-deterministic",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--no-color",
    ]


async def test_generated_requests_conform(
    local_cluster: ClusterAccess, namespace: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kubeweft.db'}"
    async with running(local_cluster, url, enable_controller=False) as app:
        # Something to find: generated paths mostly miss, this one is a known hit.
        created = await app.http.post(
            "/api/webapps",
            json={"name": "target", "namespace": namespace, "spec": {"image": "x:1"}},
        )
        assert created.status_code == 201
        assert app.process.info.api_url is not None
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "tests.integration.rest.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        result = await anyio.run_process(
            schemathesis_command(app.process.info.api_url, MAX_EXAMPLES),
            check=False,
            cwd=tmp_path,
            env=env,
        )
        output = result.stdout.decode() + result.stderr.decode()
        summary = output[output.rfind("=====") - 6000 :] if "=====" in output else output
        print(summary[-4000:])  # the summary, for `pytest -rP`
        assert result.returncode == 0, summary[-8000:]
        # Every phase ran (a phase that errors or is skipped would hide failures).
        for phase in ("Coverage", "Fuzzing", "Stateful"):
            assert f"✅ {phase}" in output, summary[-8000:]
