"""The served dashboard: FastAPI app with login, roles, hotspot map, patrols and the JSON API.

Start it with ``gripkit serve`` or build the app in Python::

    from gripkit.dashboard import create_app
    app = create_app("gripkit.duckdb")          # then: uvicorn.run(app)

The web stack is imported on first use, so ``gripkit users`` stays quick to start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from gripkit.dashboard.app import create_app

        return create_app
    if name == "Settings":
        from gripkit.dashboard.state import Settings

        return Settings
    raise AttributeError(f"module 'gripkit.dashboard' has no attribute {name!r}")
