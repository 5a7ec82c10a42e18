"""`flask privacy rotate-keys` re-encrypts every stored ID number under the newest key of
ID_ENCRYPTION_KEYS; `flask privacy check-keys` says whether any still needs an older key
(docs/deploy.md, key rotation)."""

import click
from flask.cli import AppGroup

from booking.encryption import check_keys, rotate_id_numbers

privacy_cli = AppGroup("privacy", help="Personal-data protection.")


@privacy_cli.command("rotate-keys")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Rows per transaction.")
def rotate_keys_command(batch: int) -> None:
    """Re-encrypt the stored ID numbers with the newest key (safe to run again)."""
    done = rotate_id_numbers(batch, progress=lambda n: click.echo(f"re-encrypted {n} ID numbers …"))
    click.echo(f"Done: {done} ID numbers are encrypted under the newest key.")


@privacy_cli.command("check-keys")
def check_keys_command() -> None:
    """Check that the newest key reads every stored ID number (exit 1 when not)."""
    counts = check_keys()
    total = sum(counts.values())
    if counts["older"]:
        click.echo(f"{counts['older']} of {total} ID numbers still need an older key: "
                   "run `flask privacy rotate-keys`, and keep the older keys until it is done.")
    if counts["none"]:
        click.echo(f"{counts['none']} of {total} ID numbers cannot be read with any configured "
                   "key: a key is missing from ID_ENCRYPTION_KEYS; put it back before going on.")
    if counts["older"] or counts["none"]:
        raise SystemExit(1)
    click.echo(f"All {total} stored ID numbers are read with the newest key: "
               "the older keys can be removed (keep them for old backups).")
