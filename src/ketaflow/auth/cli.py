"""`ketaflow user ...` and `ketaflow token ...`."""

from __future__ import annotations

from typing import Annotated

import typer

from ketaflow.auth import service as auth_service
from ketaflow.clictx import USER_ERROR, cli_context, fail, settings, unit_of_work
from ketaflow.config import Role

user_app = typer.Typer(no_args_is_help=True, help="Staff accounts.")
token_app = typer.Typer(no_args_is_help=True, help="Per-user API tokens.")


@user_app.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (lower case).")],
    role: Annotated[Role, typer.Option(help="Role of the new account.")],
    full_name: Annotated[str, typer.Option("--full-name", help="Name shown in the app.")] = "",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 12 characters (prompted if not given).",
        ),
    ] = "",
) -> None:
    """Create a staff account."""
    with unit_of_work() as db:
        user = auth_service.create_user(
            db,
            cli_context(),
            username=username,
            full_name=full_name or username,
            role=role,
            password=password,
        )
        typer.echo(f"created {user.username} ({user.role.value}), id {user.id}")


@user_app.command("deactivate")
def deactivate_user(username: str) -> None:
    """Deactivate an account and end its sessions (accounts are never deleted)."""
    with unit_of_work() as db:
        user = auth_service.get_user_by_username(db, username)
        auth_service.deactivate_user(db, cli_context(), user=user)
        typer.echo(f"deactivated {user.username}")


@user_app.command("reset-mfa")
def reset_mfa(username: str) -> None:
    """Clear an account's TOTP secret; the user enrols again at next sign-in."""
    with unit_of_work() as db:
        user = auth_service.get_user_by_username(db, username)
        auth_service.reset_mfa(db, cli_context(), user=user)
        typer.echo(f"two-factor sign-in reset for {user.username}")


@user_app.command("list")
def list_users() -> None:
    """List staff accounts."""
    with unit_of_work() as db:
        for user in auth_service.list_users(db):
            state = "active" if user.is_active else "deactivated"
            mfa = "mfa" if user.mfa_enrolled else "no-mfa"
            typer.echo(f"{user.username:20} {user.role.value:12} {state:12} {mfa}")


@token_app.command("create")
def create_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Days until it expires.")] = None,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    cfg = settings()
    with unit_of_work(cfg) as db:
        user = auth_service.get_user_by_username(db, username)
        plaintext, record = auth_service.create_api_token(
            db, cli_context(), user=user, name=name, days=days or cfg.api_token_default_days
        )
        typer.echo(plaintext)
        typer.echo(
            f"token {record.id} for {user.username}, expires {record.expires_at:%Y-%m-%d}", err=True
        )


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token id (kft_<id>_...).")],
) -> None:
    """Revoke an API token by its id."""
    if token_id.startswith("kft_"):
        parts = token_id.split("_")
        if len(parts) < 2:
            fail("token id is malformed", USER_ERROR)
        token_id = parts[1]
    with unit_of_work() as db:
        auth_service.revoke_api_token(db, cli_context(), token_id=token_id)
        typer.echo(f"revoked {token_id}")
