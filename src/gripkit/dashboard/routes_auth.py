"""Login and logout. The login form is CSRF-protected by a double-submit cookie; failures are throttled."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gripkit.dashboard import auth
from gripkit.dashboard.pages import render
from gripkit.dashboard.state import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    DashboardState,
    checked_form,
    get_state,
)

router = APIRouter(include_in_schema=False)
State = Annotated[DashboardState, Depends(get_state)]


def _secure(request: Request, state: DashboardState) -> bool:
    return state.settings.secure_cookies or request.url.scheme == "https"


def _safe_next(target: str | None, role: str | None = None) -> str:
    """A local path to go to after login (never another site)."""
    home = "/officer" if role == "officer" else "/"
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    return target


def _login_page(
    request: Request, state: DashboardState, *, error: str = "", status: int = 200, next_path: str = ""
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request, "login.html", {"login_csrf": token, "error": error, "next": next_path}, status_code=status
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request, state),
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, state: State, next: str = "") -> Response:
    """The login page (the only page served without a session)."""
    if getattr(request.state, "session", None) is not None:
        return RedirectResponse(_safe_next(next, request.state.session.user.role), status_code=303)
    return _login_page(request, state, next_path=next)


@router.post("/login")
async def login(request: Request, state: State) -> Response:
    """Check the password; on success set the session cookie and go to ``next``."""
    form = await request.form()
    username = str(form.get("username") or "")[:64]
    password = str(form.get("password") or "")[:1024]
    next_path = str(form.get("next") or "")
    sent, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _login_page(
            request, state, error="The form expired; please try again.", status=403, next_path=next_path
        )
    client = request.client.host if request.client else "unknown"
    wait = state.throttle.retry_after(username, client)
    if wait:
        response = _login_page(
            request,
            state,
            status=429,
            next_path=next_path,
            error=f"Too many failed logins. Try again in {wait} seconds.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = await run_in_threadpool(state.db, lambda ws: auth.authenticate(ws, username, password))
    if user is None:
        state.throttle.failed(username, client)
        return _login_page(
            request, state, error="Wrong user name or password.", status=401, next_path=next_path
        )
    state.throttle.succeeded(username)
    token, _ = await run_in_threadpool(
        state.db, lambda ws: auth.create_session(ws, user, hours=state.settings.session_hours)
    )
    response = RedirectResponse(_safe_next(next_path, user.role), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, state),
        max_age=int(state.settings.session_hours * 3600),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, form: Annotated[dict[str, str], Depends(checked_form)], state: State
) -> Response:
    """End the session (CSRF-checked) and return to the login page."""
    token = request.state.session_token
    if token:
        await run_in_threadpool(state.db, lambda ws: auth.delete_session(ws, token))
        state.forget_sessions(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
