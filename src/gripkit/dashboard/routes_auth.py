"""Login and logout. The login form is CSRF-protected by a double-submit cookie; attempts are limited.

Every attempt is counted by :class:`~gripkit.dashboard.auth.LoginThrottle` before its password is
checked (429 with Retry-After over the limit); a successful login sets a device cookie that gives
that browser its own budget. The Argon2 check runs outside the workspace lock.
"""

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
    password = str(form.get("password") or "")[: auth.MAX_PASSWORD]
    next_path = str(form.get("next") or "")
    sent, expected = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _login_page(
            request, state, error="The form expired; please try again.", status=403, next_path=next_path
        )
    client = request.client.host if request.client else "unknown"
    device_name = auth.device_cookie_name(username)
    device = state.throttle.device_id(username, request.cookies.get(device_name))
    attempt = state.throttle.attempt(username, client, device)  # counted before the check
    if attempt.retry_after:
        response = _login_page(
            request,
            state,
            status=429,
            next_path=next_path,
            error=f"Too many failed logins. Try again in {attempt.retry_after} seconds.",
        )
        response.headers["Retry-After"] = str(attempt.retry_after)
        return response
    credentials = await run_in_threadpool(state.db, lambda ws: auth.load_credentials(ws, username))
    user = await run_in_threadpool(auth.check_password, credentials, password)  # Argon2, no lock
    started = None
    if user is not None:
        started = await run_in_threadpool(
            state.db,
            lambda ws: auth.start_session(ws, credentials, password, hours=state.settings.session_hours),
        )
    if started is None:
        return _login_page(
            request, state, error="Wrong user name or password.", status=401, next_path=next_path
        )
    state.throttle.succeeded(attempt)
    token, session = started
    response = RedirectResponse(_safe_next(next_path, session.user.role), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request, state),
        max_age=int(state.settings.session_hours * 3600),
        path="/",
    )
    response.set_cookie(  # this browser now has its own login budget (docs/security.md)
        device_name,
        state.throttle.device_cookie(username),
        httponly=True,
        samesite="strict",
        secure=_secure(request, state),
        max_age=auth.DEVICE_COOKIE_DAYS * 86400,
        path="/login",
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
