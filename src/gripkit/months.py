"""Month windows, spelled one way everywhere: ``FROM..TO`` for an explicit window, ``last=N`` for a
trailing one ending at the newest month in the workspace.

Examples
--------
>>> parse_window("2023-05..2024-04")
('2023-05', '2024-04')
>>> parse_window("2024-01")
('2024-01', '2024-01')
>>> trailing(__import__("datetime").date(2024, 4, 1), 12)
(datetime.date(2023, 5, 1), datetime.date(2024, 4, 1))
>>> trailing(__import__("datetime").date(2024, 4, 1), 12, offset=12)
(datetime.date(2022, 5, 1), datetime.date(2023, 4, 1))
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from gripkit.errors import InputError

if TYPE_CHECKING:
    from gripkit.workspace import Workspace

MonthRange = tuple[str | date | None, str | date | None]


def parse_window(text: str | None) -> tuple[str | None, str | None] | None:
    """``"2023-05..2024-04"``, ``"2023-05.."``, ``"..2024-04"`` or one month into ``(first, last)``.

    None or ``""`` gives None (no filter). Months are checked when the window is used.
    """
    if not text:
        return None
    first, sep, last = text.partition("..")
    if not sep:
        return (first.strip(), first.strip())
    return (first.strip() or None, last.strip() or None)


def shift(month: date, months: int) -> date:
    """The first day of the month ``months`` after (negative: before) ``month``."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def trailing(last_month: date, n: int, *, offset: int = 0) -> tuple[date, date]:
    """The ``n`` months ending ``offset`` months before ``last_month``, as (first, last) month starts."""
    if n < 1:
        raise InputError(f"'last' must be >= 1 month; received {n}. Pass e.g. last=12.")
    if offset < 0:
        raise InputError(f"'offset' must be >= 0 months; received {offset}.")
    end = shift(last_month.replace(day=1), -offset)
    return shift(end, -(n - 1)), end


def newest_month(ws: Workspace, *, force: str | None = None) -> date:
    """The newest month with crimes in the workspace (optionally for one force)."""
    sql = "SELECT max(month) FROM crimes" + (" WHERE force = ?" if force else "")
    row = ws.con.execute(sql, [force] if force else []).fetchone()
    if not row or row[0] is None:
        raise InputError(
            f"no crimes in workspace {ws.path}"
            + (f" for force {force!r}" if force else "")
            + "; ingest data with `gripkit ingest PATH` first."
        )
    value = row[0]
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def trailing_window(ws: Workspace, n: int, *, offset: int = 0, force: str | None = None) -> tuple[date, date]:
    """The last ``n`` months of the workspace's data (``offset`` months earlier), as (first, last)."""
    return trailing(newest_month(ws, force=force), n, offset=offset)
