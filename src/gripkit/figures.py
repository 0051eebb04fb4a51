"""Matplotlib figures to inline PNG: what the offline report, evaluation and briefing pages embed."""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.figure import Figure


def png_base64(fig: Figure, **savefig: Any) -> str:
    """The figure as base64-encoded PNG bytes (``savefig`` options passed through).

    >>> png_base64(Figure(figsize=(1, 1)), dpi=10)[:8]
    'iVBORw0K'
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", **savefig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def png_data_uri(fig: Figure, **savefig: Any) -> str:
    """The figure as a ``data:image/png;base64,...`` URI for an ``<img src>``."""
    return "data:image/png;base64," + png_base64(fig, **savefig)
