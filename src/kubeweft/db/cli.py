"""``kubeweft db``: migrations."""

import typer

app = typer.Typer(help="Database tools.", no_args_is_help=True)
