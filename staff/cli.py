"""`flask users create NAME --role ROLE --password PW [--office CODE]` (docs/api.md §2)."""

import click
from flask.cli import AppGroup

from staff.services import StaffError, create_user

users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "desk", "registrar"]))
@click.option("--password", required=True)
@click.option("--office", "office_code", default=None, help="Office code the account serves.")
@click.option("--display-name", default="", help="Name shown on screens.")
def create_command(name: str, role: str, password: str, office_code: str | None,
                   display_name: str) -> None:
    """Create a staff account."""
    try:
        user = create_user(name, role, password, office_code, display_name)
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    where = f" at {office_code}" if office_code else " (all offices)"
    click.echo(f"Created {user.role} {user.username!r}{where}.")


DEMO_ACCOUNTS = (
    ("admin", "admin", "admin-demo-2026", None, "管理员"),
    ("desk", "desk", "desk-demo-2026", "chuanshan", "导办台（船山区）"),
    ("registrar", "registrar", "registrar-demo-2026", "chuanshan", "登记员（船山区）"),
)


@users_cli.command("demo")
def demo_command() -> None:
    """Create the demo accounts of the README where they are missing."""
    from sqlalchemy import select

    from core.auth import User
    from core.extensions import db

    for username, role, password, office, display_name in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            create_user(username, role, password, office, display_name)
            state = "created"
        else:
            state = "exists"
        click.echo(f"demo account {username:<10} role {role:<10} password {password:<20} "
                   f"office {office or 'all'} ({state})")
