"""Template rendering shared by the route modules: Jinja2 (autoescaped) with the session's context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))

#: navigation: (path, label, roles that see it)
NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/", "Hotspot map", ("admin", "analyst")),
    ("/audit", "Audit", ("admin", "analyst")),
    ("/plan", "Plan & calendar", ("admin", "analyst")),
    ("/dosage", "Dosage", ("admin", "analyst")),
    ("/evaluation", "Evaluation", ("admin", "analyst")),
    ("/allocation", "Allocation", ("admin", "analyst")),
    ("/officer", "My patrols", ("officer",)),
    ("/users", "Users", ("admin",)),
    ("/docs", "API", ("admin", "analyst")),
)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render ``templates/name`` with the logged-in user, their CSRF token and navigation."""
    session = getattr(request.state, "session", None)
    role = session.user.role if session else None
    ctx: dict[str, Any] = {
        "session": session,
        "user": session.user if session else None,
        "csrf_token": session.csrf_token if session else "",
        "nav": [(path, label) for path, label, roles in NAV if role in roles],
        "path": request.url.path,
    }
    ctx.update(context or {})
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code)
