"""``kubeweft cluster``: build, start and stop the local control plane."""

import typer

app = typer.Typer(help="The local control plane.", no_args_is_help=True)
