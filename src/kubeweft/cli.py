"""The ``kubeweft`` command: one entry point, one sub-command group per area.

``kubeweft run`` runs the process; ``cluster``, ``manifests``, ``db`` and ``apikey``
are the tools around it. Each group lives beside the code it drives.
"""

from __future__ import annotations

import typer

from kubeweft.app import run_command
from kubeweft.auth.cli import app as apikey_app
from kubeweft.codegen.cli import manifests_command
from kubeweft.db.cli import app as db_app
from kubeweft.localcluster.cli import app as cluster_app
from kubeweft.scaffold.cli import create_app, init_command

app = typer.Typer(
    name="kubeweft",
    help="Kubernetes models and their APIs in the kubebuilder pattern.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("run")(run_command)
app.command("manifests")(manifests_command)
app.command("init")(init_command)
app.add_typer(create_app, name="create")
app.add_typer(cluster_app, name="cluster")
app.add_typer(db_app, name="db")
app.add_typer(apikey_app, name="apikey")


def main() -> None:
    app()
