"""``kubeweft manifests``: write the generated CRDs and RBAC under ``config/``.

``--check`` writes nothing and fails with a diff when the checked-in files differ from
what the code declares; CI runs it so that a model change cannot ship without its CRD.
The models are an application's (``kubeweft manifests shop.app:app``) or named one by
one (``--model shop.api.v1alpha1:Store``); by default, the shipped example's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kubeweft import _importing
from kubeweft.api import CustomResource
from kubeweft.api.admission import Webhook
from kubeweft.api.conversion import Conversion
from kubeweft.codegen import manifests

# The application whose models are generated when none is named: the shipped example,
# named by string so that the framework imports no model.
DEFAULT_APP = "kubeweft.examples.webapp:app"


def manifests_command(
    app: Annotated[
        str | None,
        typer.Argument(
            metavar="APP",
            help="An application (kubeweft.App) as module:attribute, found in the current "
            "directory first; its models are generated.",
            show_default=False,
        ),
    ] = None,
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
            "(repeatable; default: the shipped example's models).",
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
    if app and model:
        typer.echo("kubeweft manifests: give an APP or --model, not both", err=True)
        raise typer.Exit(2)
    webhooks: tuple[Webhook, ...] = ()
    conversions: tuple[Conversion, ...] = ()
    app_name = "kubeweft"
    try:
        if model:
            models = [load_model(s) for s in model]
        else:
            models = load_app_models(app or DEFAULT_APP)
            app_name, webhooks = load_app_webhooks(app or DEFAULT_APP)
            conversions = load_app_conversions(app or DEFAULT_APP)
    except (_importing.ImportFromStringError, ImportError, TypeError) as error:
        typer.echo(f"kubeweft manifests: {error}", err=True)
        raise typer.Exit(2) from error
    files = manifests.generated_files(
        models, api=api, webhooks=webhooks, app_name=app_name, conversions=conversions
    )
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


def load_app_models(spec: str) -> list[type[CustomResource]]:
    """``package.module:app`` → the models of that application.

    Code generation sits below the application layer, so an application is recognised
    by what it offers (``models``, a tuple of models), as ``kubeweft.App`` does. A new
    project's application has no models yet: its manifests are those ``kubeweft init``
    wrote (no CRD, the manager's own RBAC), so the drift check holds from the start.
    """
    candidate = _importing.import_from_string(spec)
    models = getattr(candidate, "models", None)
    if not (
        isinstance(models, tuple)
        and all(isinstance(m, type) and issubclass(m, CustomResource) for m in models)
    ):
        raise TypeError(f"{spec} is not a kubeweft.App")
    return list(models)


def load_app_webhooks(spec: str) -> tuple[str, tuple[Webhook, ...]]:
    """The application's name and admission webhooks (``App.add_webhook``)."""
    candidate = _importing.import_from_string(spec)
    webhooks = getattr(candidate, "webhooks", ())
    if not all(isinstance(hook, Webhook) for hook in webhooks):
        raise TypeError(f"{spec}.webhooks holds something that is no Webhook")
    return str(getattr(candidate, "name", "kubeweft")), tuple(webhooks)


def load_app_conversions(spec: str) -> tuple[Conversion, ...]:
    """The versions of the application's models (``App.add_model(..., spokes=...)``)."""
    candidate = _importing.import_from_string(spec)
    conversions = getattr(candidate, "conversions", ())
    if not all(isinstance(conversion, Conversion) for conversion in conversions):
        raise TypeError(f"{spec}.conversions holds something that is no Conversion")
    return tuple(conversions)


def load_model(spec: str) -> type[CustomResource]:
    """``package.module:Class`` → the model class (the current directory is searched first)."""
    candidate = _importing.import_from_string(spec)
    if not (isinstance(candidate, type) and issubclass(candidate, CustomResource)):
        raise TypeError(f"{spec} is not a CustomResource subclass")
    return candidate
