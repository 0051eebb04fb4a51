"""Hotspot verbs: spatial frame in, spatial frame out, with fixed documented columns."""

from __future__ import annotations

from gripkit.hotspots.count import count

__all__ = ["count"]
