"""`flask users …` (docs/api.md §2): create accounts, lock and unlock them, switch them off
and on, set a password, end every session of an account. Each change is audited."""

import click
from flask.cli import AppGroup

from staff import services
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
    from flask import current_app
    from sqlalchemy import select

    from core.auth import User
    from core.extensions import db

    if current_app.config.get("ENV_NAME") == "production":  # published passwords
        raise click.ClickException(
            "XIYUE_ENV_NAME is production: the demo accounts, whose passwords the README "
            "publishes, are not created. Create real accounts with `flask users create`.")
    for username, role, password, office, display_name in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.username == username)) is None:
            create_user(username, role, password, office, display_name)
            state = "created"
        else:
            state = "exists"
        click.echo(f"demo account {username:<10} role {role:<10} password {password:<20} "
                   f"office {office or 'all'} ({state})")


def _account(name: str):
    user = services.find_user(name)
    if user is None:
        raise click.ClickException(f"no user {name!r}")
    return user


@users_cli.command("lock")
@click.argument("name")
def lock_command(name: str) -> None:
    """Lock an account: its sessions and API tokens end, and nobody signs in with it until
    it is unlocked."""
    changed = services.set_locked(_account(name), True, None)
    click.echo(f"Locked {name!r}; its sessions and tokens ended." if changed
               else f"{name!r} was locked already.")


@users_cli.command("unlock")
@click.argument("name")
def unlock_command(name: str) -> None:
    """Unlock an account an admin locked."""
    changed = services.set_locked(_account(name), False, None)
    click.echo(f"Unlocked {name!r}." if changed else f"{name!r} was not locked.")


@users_cli.command("end-sessions")
@click.argument("name")
def end_sessions_command(name: str) -> None:
    """End every session and API token of an account (it may sign in again)."""
    services.end_sessions(_account(name), None)
    click.echo(f"Ended every session and API token of {name!r}.")


@users_cli.command("deactivate")
@click.argument("name")
def deactivate_command(name: str) -> None:
    """Switch an account off: its sessions and API tokens end."""
    changed = services.set_active(_account(name), False, None)
    click.echo(f"Switched off {name!r}; its sessions and tokens ended." if changed
               else f"{name!r} was switched off already.")


@users_cli.command("activate")
@click.argument("name")
def activate_command(name: str) -> None:
    """Switch an account on again."""
    changed = services.set_active(_account(name), True, None)
    click.echo(f"Switched on {name!r}." if changed else f"{name!r} was switched on already.")


@users_cli.command("set-password")
@click.argument("name")
@click.option("--password", required=True, prompt=True, hide_input=True,
              confirmation_prompt=True)
def set_password_command(name: str, password: str) -> None:
    """Give an account a new password: its sessions and API tokens end."""
    try:
        services.change_password(_account(name), password, None)
    except StaffError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"New password set for {name!r}; its sessions and tokens ended.")
