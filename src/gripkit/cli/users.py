"""``gripkit users``: add, list, remove dashboard users, set their role or password.

Removing a user or changing their role or password ends their dashboard sessions at once (a
running server refuses their next request).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from gripkit.cli.common import JsonOption, WorkspaceOption, app, console, open_workspace, print_json
from gripkit.errors import InputError

users_app = typer.Typer(help="Dashboard users: add, list, passwd, role, remove.", no_args_is_help=True)
app.add_typer(users_app, name="users")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (scripts).")
]


def read_password(from_stdin: bool) -> str:
    """The new password: first line of stdin, or prompted twice without echo."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError(
                "--password-stdin got an empty line; received no password. Pipe it in: "
                "echo 'secret phrase' | gripkit users add NAME --password-stdin"
            )
        return line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name, e.g. pc_smith.")],
    role: Annotated[str, typer.Option(help="admin, analyst or officer.")] = "analyst",
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add a user (password prompted, or --password-stdin); stored as an Argon2id hash."""
    from gripkit.dashboard import auth

    password = read_password(password_stdin)
    with open_workspace(workspace) as ws:
        auth.add_user(ws, name, role, password)
    if json_out:
        print_json({"action": "added", "user": name, "role": role})
        return
    console.print(f"Added {role} [bold]{name}[/].")


@users_app.command("passwd")
def passwd_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdin = False,
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set a user's password (ends their sessions)."""
    from gripkit.dashboard import auth

    password = read_password(password_stdin)
    with open_workspace(workspace) as ws:
        auth.set_password(ws, name, password)
    if json_out:
        print_json({"action": "password set", "user": name})
        return
    console.print(f"New password set for [bold]{name}[/].")


@users_app.command("role")
def role_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="The new role: admin, analyst or officer.")],
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change a user's role (ends their sessions: they log in again with the new role)."""
    from gripkit.dashboard import auth

    with open_workspace(workspace) as ws:
        auth.set_role(ws, name, role)
    if json_out:
        print_json({"action": "role set", "user": name, "role": role})
        return
    console.print(f"[bold]{name}[/] is now {role}; their sessions ended.")


@users_app.command("remove")
def remove_command(
    name: Annotated[str, typer.Argument(help="User name.")],
    workspace: WorkspaceOption = None,
    json_out: JsonOption = False,
) -> None:
    """Remove a user and end their sessions."""
    from gripkit.dashboard import auth

    with open_workspace(workspace) as ws:
        auth.delete_user(ws, name)
    if json_out:
        print_json({"action": "removed", "user": name})
        return
    console.print(f"Removed [bold]{name}[/]; their sessions ended.")


@users_app.command("list")
def list_command(workspace: WorkspaceOption = None, json_out: JsonOption = False) -> None:
    """List users and roles."""
    from gripkit.dashboard import auth

    with open_workspace(workspace) as ws:
        found = auth.list_users(ws)
    if json_out:
        print_json(
            {"users": [{"user": u.username, "role": u.role, "disabled": bool(u.disabled)} for u in found]}
        )
        return
    table = Table(title=f"{len(found)} user(s)")
    table.add_column("user")
    table.add_column("role")
    for user in found:
        table.add_row(user.username, user.role + (" (disabled)" if user.disabled else ""))
    console.print(table)
