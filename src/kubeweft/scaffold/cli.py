"""``kubeweft init`` and ``kubeweft create api``: write a project, then a kind in it.

Each prints one line per file (``wrote …``, or ``would write …`` with ``--dry-run``);
a refusal or a bad name is one ``kubeweft <command>: …`` line on stderr and exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeweft.scaffold import files, project

create_app = typer.Typer(help="Add to a project made by kubeweft init.", no_args_is_help=True)

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print each file that would be written; write nothing.")
]


def init_command(
    name: Annotated[str, typer.Argument(help="The project's name and Python package, e.g. shop.")],
    domain: Annotated[
        str, typer.Option("--domain", help="The API domain: a kind's group is <group>.<domain>.")
    ],
    directory: Annotated[Path, typer.Option("--dir", help="Where to create the project.")] = Path(
        "."
    ),
    kubeweft_requirement: Annotated[
        str | None,
        typer.Option(
            "--kubeweft-requirement",
            help="The project's kubeweft dependency (a pip requirement: a version, a path "
            "or a URL); by default this kubeweft's version, pinned.",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Create a project: pyproject.toml, Makefile, Dockerfile, config/, src/<name>/app.py,
    tests/conftest.py and a README."""
    try:
        planned = project.init_files(
            name,
            domain=domain,
            kubeweft_requirement=kubeweft_requirement or project.default_requirement(),
        )
        files.apply(directory, planned, dry_run=dry_run, echo=typer.echo)
    except files.ScaffoldError as error:
        typer.echo(f"kubeweft init: {error}", err=True)
        raise typer.Exit(1) from error


@create_app.command("api")
def create_api_command(
    group: Annotated[str, typer.Option("--group", help="The group's first label, e.g. shop.")],
    version: Annotated[str, typer.Option("--version", help="The API version, e.g. v1alpha1.")],
    kind: Annotated[str, typer.Option("--kind", help="The kind, in UpperCamelCase, e.g. Store.")],
    plural: Annotated[
        str | None,
        typer.Option(
            "--plural",
            help="The resource name (REST path, kubectl get ...); by default the kind's "
            "lower-case English plural.",
            show_default=False,
        ),
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="The project's root (its pyproject.toml).")
    ] = Path("."),
    dry_run: DryRun = False,
) -> None:
    """Add a kind: its types, a reconciler, a sample, a test; register them in app.py
    and regenerate config/."""
    try:
        planned = project.api_files(
            directory, group=group, version=version, kind=kind, plural=plural
        )
        files.apply(directory, planned, dry_run=dry_run, echo=typer.echo)
        if dry_run:
            typer.echo("would regenerate config/crd and config/rbac (kubeweft manifests)")
        else:
            project.regenerate_manifests(directory, typer.echo)
    except files.ScaffoldError as error:
        typer.echo(f"kubeweft create api: {error}", err=True)
        raise typer.Exit(1) from error


@create_app.command("webhook")
def create_webhook_command(
    version: Annotated[str, typer.Option("--version", help="The kind's API version.")],
    kind: Annotated[str, typer.Option("--kind", help="An existing kind, e.g. Store.")],
    defaulting: Annotated[
        bool, typer.Option("--defaulting", help="Add a defaulter (a mutating webhook).")
    ] = False,
    validation: Annotated[
        bool, typer.Option("--validation", help="Add a validator (a validating webhook).")
    ] = False,
    conversion: Annotated[
        bool,
        typer.Option(
            "--conversion",
            help="Make --hub the stored version and convert --version to it (a conversion "
            "webhook).",
        ),
    ] = False,
    hub: Annotated[
        str | None, typer.Option("--hub", help="With --conversion: the stored version, e.g. v1.")
    ] = None,
    directory: Annotated[
        Path, typer.Option("--dir", help="The project's root (its pyproject.toml).")
    ] = Path("."),
    dry_run: DryRun = False,
) -> None:
    """Add admission rules to a kind: webhooks/<kind>.py with a defaulter and/or a
    validator, registered in app.py (add_webhook); or, with --conversion, a second
    version of it; config/ regenerated."""
    try:
        if conversion:
            if hub is None or defaulting or validation:
                raise files.ScaffoldError(
                    "--conversion takes --hub (the stored version) and no admission rule: "
                    "add those to the hub in a second create webhook"
                )
            planned = project.conversion_files(directory, version=version, kind=kind, hub=hub)
        else:
            planned = project.webhook_files(
                directory, version=version, kind=kind, defaulting=defaulting, validation=validation
            )
        files.apply(directory, planned, dry_run=dry_run, echo=typer.echo)
        if dry_run:
            typer.echo("would regenerate config/ (kubeweft manifests)")
        else:
            project.regenerate_manifests(directory, typer.echo)
            if not project.webhooks_deployed(directory):
                typer.echo(
                    "config/default does not take in ../webhook (it has no "
                    f"{project.WEBHOOK_MARKER} lines): add it, the manager's webhook port "
                    "and certificate as config/default/manager_webhook_patch.yaml says"
                )
    except files.ScaffoldError as error:
        typer.echo(f"kubeweft create webhook: {error}", err=True)
        raise typer.Exit(1) from error
