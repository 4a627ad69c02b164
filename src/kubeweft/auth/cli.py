"""``kubeweft apikey``: create, list and revoke API keys."""

import typer

app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
