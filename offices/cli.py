"""`flask offices …` (docs/api.md §2)."""

import click
from flask.cli import AppGroup

from offices.loader import OfficeFileError, load_offices_file

offices_cli = AppGroup("offices", help="Offices, windows, hours and peak days.")


@offices_cli.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def load_command(path: str) -> None:
    """Create or update offices from a TOML file (idempotent)."""
    try:
        report = load_offices_file(path)
    except OfficeFileError as error:
        raise click.ClickException(f"{path}: {error}. Nothing was changed.") from error
    click.echo(f"Loaded {path}: {report.summary()}.")
