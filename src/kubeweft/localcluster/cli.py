"""``kubeweft cluster``: build, start and stop the local control plane.

``up`` starts the components in their own sessions and returns, leaving them running;
``down`` and ``status`` find them again through the directory's state file. ``build``
is what ``make localcluster`` runs: a no-op printing the cache path when it is warm.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kubeweft.localcluster import build, state
from kubeweft.localcluster.access import NON_ADMIN_USERS, NotSupported
from kubeweft.localcluster.cluster import ClusterStartError, LocalCluster
from kubeweft.localcluster.external import ExternalCluster

app = typer.Typer(help="The local control plane.", no_args_is_help=True)

DirOption = Annotated[
    Path, typer.Option("--dir", help="Cluster directory (data, logs, kubeconfig).")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command("build")
def build_command() -> None:
    """Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and
    kwok from the Go modules (or reuse the cache); print the bin directory."""
    try:
        if build.source_dir() is None:
            binaries = build.find_binaries()  # KUBEBUILDER_ASSETS or an existing cache
            typer.echo(binaries.etcd.parent)
            return
        typer.echo(build.ensure_built(progress=sys.stderr))
    except build.BinariesUnavailable as error:
        _fail(str(error))


@app.command("up")
def up_command(
    directory: DirOption = state.DEFAULT_DIR,
    nodes: Annotated[int, typer.Option(min=0, help="Simulated (kwok) Nodes.")] = 1,
) -> None:
    """Start a cluster in the background; print the KUBECONFIG to export."""
    directory = directory.resolve()
    try:
        cluster = LocalCluster(directory, nodes=nodes)
        typer.echo(f"starting the local control plane in {directory} ...", err=True)
        cluster.start()
    except (build.BinariesUnavailable, ClusterStartError) as error:
        _fail(str(error))
    typer.echo(f"ready: {cluster.server} (logs in {directory / 'logs'})", err=True)
    for user in NON_ADMIN_USERS:
        typer.echo(f"  user {user}: {cluster.kubeconfig_for(user)}", err=True)
    typer.echo(f"export KUBECONFIG={cluster.kubeconfig_path}")


@app.command("down")
def down_command(directory: DirOption = state.DEFAULT_DIR) -> None:
    """Stop the cluster started by ``up`` in DIR (its data stays until the next ``up``)."""
    stopped = state.stop_recorded(directory.resolve())
    if not stopped:
        typer.echo(f"no cluster running in {directory}")
        return
    typer.echo("stopped " + ", ".join(f"{name} ({pid})" for name, pid in stopped.items()))


@app.command("status")
def status_command(directory: DirOption = state.DEFAULT_DIR) -> None:
    """Show the components of the cluster in DIR and whether the API server is ready."""
    directory = directory.resolve()
    recorded = state.read_state(directory)
    if recorded is None:
        typer.echo(f"no cluster in {directory}")
        raise typer.Exit(1)
    live = state.running_pids(directory)
    for name in recorded.get("argv", {}):
        pid = live.get(name)
        typer.echo(f"{name:<24} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
    if "kube-apiserver" not in live:
        raise typer.Exit(1)
    cluster = ExternalCluster(Path(recorded["kubeconfig"]))
    import httpx  # here: every `kubeweft` command imports this module

    try:
        with cluster.http(timeout=5.0) as client:
            ready = client.get("/readyz").status_code == 200
            nodes = client.get("/api/v1/nodes").json().get("items", [])
    except (httpx.HTTPError, NotSupported) as error:
        _fail(f"{recorded['server']}: {error}")
    finally:
        cluster.close()
    typer.echo(f"server {recorded['server']}: {'ready' if ready else 'NOT ready'}")
    typer.echo(f"nodes: {len(nodes)}")
    typer.echo(f"export KUBECONFIG={recorded['kubeconfig']}")
    if not ready:
        raise typer.Exit(1)
