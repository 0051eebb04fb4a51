"""User management (admin only): list, add, change role or password, remove.

Every change but adding ends the user's sessions at once: the workspace deletes them in the same
transaction, and the server forgets the sessions it had cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gripkit.dashboard import auth
from gripkit.dashboard.pages import render
from gripkit.dashboard.state import ADMIN, DashboardState, checked_form, get_state, require
from gripkit.errors import InputError
from gripkit.workspace import Workspace

router = APIRouter(include_in_schema=False)
Admin = Annotated[auth.Session, Depends(require(*ADMIN))]
State = Annotated[DashboardState, Depends(get_state)]
Form = Annotated[dict[str, str], Depends(checked_form)]


@router.get("/users")
def users_page(request: Request, state: State, session: Admin) -> Response:
    """Every user with forms to add, reset and remove."""
    return render(
        request,
        "users.html",
        {
            "users": state.db(auth.list_users),
            "roles": auth.ROLES,
            "error": request.query_params.get("error", ""),
            "done": request.query_params.get("done", ""),
        },
    )


async def _change(state: DashboardState, action: str, fn: Callable[[Workspace], None]) -> Response:
    """Run a user change as a write (the server forgets what it keeps from the workspace), then
    forget every cached session, so the changed user's next request is looked up afresh."""
    try:
        await run_in_threadpool(state.change, fn)
    except InputError as exc:
        return RedirectResponse(f"/users?error={quote(str(exc))}", status_code=303)
    state.forget_sessions()
    return RedirectResponse(f"/users?done={quote(action)}", status_code=303)


@router.post("/users/add")
async def add(state: State, session: Admin, form: Form) -> Response:
    """Create a user (CSRF-checked)."""
    name, role, password = form.get("username", ""), form.get("role", ""), form.get("password", "")
    return await _change(state, f"added {name}", lambda ws: auth.add_user(ws, name, role, password))


@router.post("/users/{username}/password")
async def password(username: str, state: State, session: Admin, form: Form) -> Response:
    """Set a user's password and end their sessions (CSRF-checked)."""
    new = form.get("password", "")
    return await _change(
        state, f"new password for {username}", lambda ws: auth.set_password(ws, username, new)
    )


@router.post("/users/{username}/role")
async def role(username: str, state: State, session: Admin, form: Form) -> Response:
    """Change a user's role (not your own) and end their sessions (CSRF-checked)."""
    if username == session.user.username:
        return RedirectResponse(f"/users?error={quote('you cannot change your own role')}", status_code=303)
    new = form.get("role", "")
    return await _change(state, f"{username} is now {new}", lambda ws: auth.set_role(ws, username, new))


@router.post("/users/{username}/remove")
async def remove(username: str, state: State, session: Admin, form: Form) -> Response:
    """Remove a user (not yourself) and end their sessions (CSRF-checked)."""
    if username == session.user.username:
        return RedirectResponse(
            f"/users?error={quote('you cannot remove your own account')}", status_code=303
        )
    return await _change(state, f"removed {username}", lambda ws: auth.delete_user(ws, username))
