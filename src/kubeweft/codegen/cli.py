"""``kubeweft manifests``: write generated manifests under ``config/``."""

import typer


def manifests_command() -> None:
    """Generate CRD and RBAC manifests (placeholder)."""
    typer.echo("kubeweft manifests: not built yet", err=True)
    raise typer.Exit(1)
