"""The process: start-up in the seed's order, runnables, graceful shutdown."""

from __future__ import annotations

import typer


def run_command() -> None:
    """Run the controller and the REST API (placeholder until the process is built)."""
    typer.echo("kubeweft run: not built yet", err=True)
    raise typer.Exit(1)
