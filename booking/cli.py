"""`flask privacy rotate-keys` re-encrypts every encrypted value (ID numbers, birth dates,
phone numbers, SMS texts, the secrets of links) under the newest key of
ID_ENCRYPTION_KEYS; `flask privacy check-keys` says whether any still needs an older key
(docs/deploy.md, the keys)."""

import click
from flask.cli import AppGroup

from booking.encryption import check_keys, rotate_encrypted

privacy_cli = AppGroup("privacy", help="Personal-data protection.")


def _by_column(counts) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()) if count)


@privacy_cli.command("rotate-keys")
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Rows per transaction.")
def rotate_keys_command(batch: int) -> None:
    """Re-encrypt every encrypted value with the newest key (safe to run again)."""
    done = rotate_encrypted(batch, progress=lambda n: click.echo(
        f"re-encrypted {n} values …"))
    total = sum(done.values())
    detail = f" ({_by_column(done)})" if total else ""
    click.echo(f"Done: {total} encrypted values are encrypted under the newest key{detail}.")


@privacy_cli.command("check-keys")
def check_keys_command() -> None:
    """Check that the newest key reads every encrypted value (exit 1 when not)."""
    counts = check_keys()
    older = {name: c["older"] for name, c in counts.items()}
    missing = {name: c["none"] for name, c in counts.items()}
    total = sum(sum(c.values()) for c in counts.values())
    if sum(older.values()):
        click.echo(f"{sum(older.values())} of {total} encrypted values still need an older key "
                   f"({_by_column(older)}): run `flask privacy rotate-keys`, and keep the "
                   "older keys until it is done.")
    if sum(missing.values()):
        click.echo(f"{sum(missing.values())} of {total} encrypted values cannot be read with "
                   f"any configured key ({_by_column(missing)}): a key is missing from "
                   "ID_ENCRYPTION_KEYS; put it back before going on.")
    if sum(older.values()) or sum(missing.values()):
        raise SystemExit(1)
    click.echo(f"All {total} encrypted values are read with the newest key: "
               "the older keys can be removed (keep them for old backups).")
