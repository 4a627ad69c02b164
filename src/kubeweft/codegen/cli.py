"""``kubeweft manifests``: write the generated CRDs and RBAC under ``config/``.

``--check`` writes nothing and fails with a diff when the checked-in files differ from
what the code declares; CI runs it so that a model change cannot ship without its CRD.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeweft import _importing
from kubeweft.api import CustomResource
from kubeweft.codegen import manifests

# The models the shipped process serves (``module:Class``).
DEFAULT_MODELS = ("kubeweft.api.v1alpha1:WebApp",)


def manifests_command(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The config/ directory to write into.")
    ] = Path("config"),
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 with a diff if files are stale."),
    ] = False,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="A model as module:Class, found in the current directory first "
            "(repeatable; default: WebApp).",
        ),
    ] = None,
    api: Annotated[
        bool,
        typer.Option(
            "--api/--no-api",
            help="Whether the REST API is deployed (--no-api: a controller-only operator, "
            "not granted TokenReview or SubjectAccessReview).",
        ),
    ] = True,
) -> None:
    """Generate CRD and RBAC manifests from the model declarations."""
    try:
        models = [load_model(spec) for spec in (model or DEFAULT_MODELS)]
    except (_importing.ImportFromStringError, ImportError, TypeError) as error:
        typer.echo(f"kubeweft manifests: {error}", err=True)
        raise typer.Exit(2) from error
    files = manifests.generated_files(models, api=api)
    if check:
        diff = manifests.drift(files, output)
        if diff:
            typer.echo(diff, nl=False)
            typer.echo(
                f"kubeweft manifests: {output} is out of date; run `kubeweft manifests`",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"{output}: up to date ({len(files)} generated files)")
        return
    for path in manifests.write(files, output):
        typer.echo(f"wrote {path}")


def load_model(spec: str) -> type[CustomResource]:
    """``package.module:Class`` → the model class (the current directory is searched first)."""
    candidate = _importing.import_from_string(spec)
    if not (isinstance(candidate, type) and issubclass(candidate, CustomResource)):
        raise TypeError(f"{spec} is not a CustomResource subclass")
    return candidate
