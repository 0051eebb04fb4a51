"""Data coverage: which months each force's data holds, so no force or month is silently missing.

police.uk has real gaps (a force that published nothing for months, a file not yet ingested).
A computation over a month window that reads a missing month as "no crime" under-counts that
force silently: an allocation gives it nothing, a trend compares one month with twelve, a power
calculation divides by months it never saw. Every job over a window therefore calls
:func:`check_window` first: it refuses (an :class:`~gripkit.errors.InputError` naming the force,
the months it holds and the window asked) or, with ``allow_gaps=True``, returns the gaps so the job
can flag them in its output.

:func:`coverage_table` is the per force x month view behind ``gripkit status --coverage``: rows
loaded and quarantined per month, with the months in the span that hold nothing as ``gap`` rows.

A month is *held* by a force when the workspace has at least one loaded row of that force in that
month; a month whose every row was quarantined is a gap (its crimes are not usable).

Example
-------
>>> from datetime import date, datetime
>>> from gripkit import Workspace
>>> with Workspace(":memory:") as ws:
...     coverage_table(ws).empty
True
>>> month_runs([date(2021, 5, 1), date(2021, 6, 1), date(2021, 9, 1)])
'2021-05..2021-06, 2021-09'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.months import shift
from gripkit.workspace import parse_month

if TYPE_CHECKING:
    from gripkit.workspace import Workspace

#: the data tables behind each kind of police.uk file (force CSVs load into ``crimes`` too)
KIND_TABLES = {"street": "crimes", "outcomes": "outcomes", "stop-and-search": "stop_search"}
#: source kinds whose rows land in each table
_SOURCE_KINDS = {
    "street": ("street", "csv"),
    "outcomes": ("outcomes",),
    "stop-and-search": ("stop-and-search",),
}
COVERAGE_COLUMNS = (C.FORCE, C.MONTH, "source", "files", "rows_loaded", "rows_quarantined", "gap")


def month_list(first: date, last: date) -> list[date]:
    """Every month start from ``first`` to ``last`` inclusive (empty if ``last < first``)."""
    first, last = first.replace(day=1), last.replace(day=1)
    n = (last.year - first.year) * 12 + last.month - first.month + 1
    return [shift(first, i) for i in range(max(n, 0))]


def month_runs(months: Iterable[date]) -> str:
    """Months as runs: ``'2021-05..2024-04'``, ``'2019-07, 2020-01..2020-03'``; ``'none'`` if empty."""
    ordered = sorted({m.replace(day=1) for m in months})
    if not ordered:
        return "none"
    runs: list[tuple[date, date]] = []
    for month in ordered:
        if runs and shift(runs[-1][1], 1) == month:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return ", ".join(_ym(a) if a == b else f"{_ym(a)}..{_ym(b)}" for a, b in runs)


def _ym(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _to_date(value: Any) -> date:
    """A plain ``date`` (DuckDB hands months to pandas as Timestamps)."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _check_kind(kind: str) -> str:
    if kind not in KIND_TABLES:
        raise InputError(f"'kind' must be one of {', '.join(KIND_TABLES)}; received {kind!r}.")
    return kind


def _loaded(ws: Workspace, kind: str) -> pd.DataFrame:
    """Loaded rows per force, month and source format (from the data table, so a force CSV that
    spans many months is counted in each month it holds)."""
    table = KIND_TABLES[kind]
    if kind == "stop-and-search":  # searches carry no force/month columns: their file's identity
        sql = (
            "SELECT s.force, s.month, s.format AS source, count(*) AS rows_loaded "
            f"FROM {table} t JOIN sources s USING (source_id) GROUP BY 1, 2, 3"
        )
    else:
        sql = (
            "SELECT t.force, date_trunc('month', t.month)::DATE AS month, s.format AS source, "
            f"count(*) AS rows_loaded FROM {table} t LEFT JOIN sources s USING (source_id) "
            "WHERE t.force IS NOT NULL AND t.month IS NOT NULL GROUP BY 1, 2, 3"
        )
    return ws.con.execute(sql).df()


def _files(ws: Workspace, kind: str) -> pd.DataFrame:
    """Active source files per force, month and format, with their quarantined rows."""
    kinds = _SOURCE_KINDS[kind]
    sql = (
        "SELECT force, month, format AS source, count(*) AS files, "
        "sum(rows_quarantined)::BIGINT AS rows_quarantined FROM sources "
        f"WHERE status = 'active' AND kind IN ({', '.join('?' for _ in kinds)}) "
        "AND force IS NOT NULL AND month IS NOT NULL GROUP BY 1, 2, 3"
    )
    return ws.con.execute(sql, list(kinds)).df()


def coverage_table(
    ws: Workspace,
    *,
    kind: str = "street",
    first: date | str | None = None,
    last: date | str | None = None,
) -> pd.DataFrame:
    """Rows loaded and quarantined per force x month (x source), gaps included as rows.

    Parameters
    ----------
    ws
        The workspace.
    kind
        ``"street"`` (crimes, from police.uk street files and force CSVs), ``"outcomes"`` or
        ``"stop-and-search"``.
    first, last
        The span of months to list (default: the workspace's first to last month of this kind,
        over all forces), so a force that stops early or starts late shows its missing months.

    Returns
    -------
    DataFrame
        Columns ``force, month, source, files, rows_loaded, rows_quarantined, gap``: one row per
        force x month x source that holds data, plus one row per force x month of the span that
        holds no loaded row (``source`` None, zeros, ``gap=True``). ``source`` is the file format
        (``"police.uk"`` or ``"csv"``). A force CSV's quarantined rows are counted in its file's
        most common month. Sorted by force, month.
    """
    _check_kind(kind)
    cells: dict[tuple[str, date, str | None], list[int]] = {}
    for force, month, source, rows in _loaded(ws, kind).itertuples(index=False):
        cells.setdefault((str(force), _to_date(month), source), [0, 0, 0])[1] += int(rows)
    for force, month, source, files, quarantined in _files(ws, kind).itertuples(index=False):
        cell = cells.setdefault((str(force), _to_date(month), source), [0, 0, 0])
        cell[0] += int(files)
        cell[2] += int(quarantined or 0)
    if not cells:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COVERAGE_COLUMNS})
    start = parse_month(first, "first") if first is not None else min(k[1] for k in cells)
    end = parse_month(last, "last") if last is not None else max(k[1] for k in cells)
    rows = [
        (f, m, src, v[0], v[1], v[2], v[1] <= 0) for (f, m, src), v in cells.items() if start <= m <= end
    ]
    listed = {(r[0], r[1]) for r in rows}
    rows += [
        (f, m, None, 0, 0, 0, True)
        for f in _forces(ws, kind)
        for m in month_list(start, end)
        if (f, m) not in listed
    ]
    rows.sort(key=lambda r: (r[0], r[1], r[2] or "~"))
    out = pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
    out[C.MONTH] = pd.Series([r[1] for r in rows], dtype="object")
    return out.astype({"files": "int64", "rows_loaded": "int64", "rows_quarantined": "int64", "gap": "bool"})


def _forces(ws: Workspace, kind: str = "street") -> list[str]:
    """Every force named by an active source or a loaded row of this kind."""
    kinds = _SOURCE_KINDS[kind]
    rows = ws.con.execute(
        f"SELECT DISTINCT force FROM sources WHERE status = 'active' AND force IS NOT NULL "
        f"AND kind IN ({', '.join('?' for _ in kinds)})",
        list(kinds),
    ).fetchall()
    names = {r[0] for r in rows}
    if kind != "stop-and-search":
        table = KIND_TABLES[kind]
        sql = f"SELECT DISTINCT force FROM {table} WHERE force IS NOT NULL"
        names |= {r[0] for r in ws.con.execute(sql).fetchall()}
    return sorted(names)


def workspace_forces(ws: Workspace, *, kind: str = "street") -> list[str]:
    """The forces the workspace holds data of (``kind`` of file), sorted."""
    return _forces(ws, _check_kind(kind))


def held_months(ws: Workspace, *, kind: str = "street") -> dict[str, list[date]]:
    """Per force, the months holding at least one loaded row (sorted); every force is a key."""
    _check_kind(kind)
    loaded = _loaded(ws, kind)
    out: dict[str, set[date]] = {f: set() for f in _forces(ws, kind)}
    for force, month, rows in zip(loaded[C.FORCE], loaded[C.MONTH], loaded["rows_loaded"], strict=True):
        if rows > 0:
            out.setdefault(str(force), set()).add(_to_date(month))
    return {f: sorted(ms) for f, ms in sorted(out.items())}


@dataclass(frozen=True)
class ForceCoverage:
    """One force's coverage of a window: the months it holds there and the months it misses."""

    force: str
    held: tuple[date, ...]
    missing: tuple[date, ...]
    #: every month the force holds anywhere in the workspace (for the message)
    anywhere: tuple[date, ...] = ()

    @property
    def complete(self) -> bool:
        """True if the force holds every month of the window."""
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: months as ``YYYY-MM`` runs and counts."""
        return {
            "force": self.force,
            "months_held": len(self.held),
            "months_missing": len(self.missing),
            "held": month_runs(self.held),
            "missing": month_runs(self.missing) if self.missing else "",
            "data": month_runs(self.anywhere),
        }


@dataclass(frozen=True)
class CoverageCheck:
    """Each force's coverage of the window ``first..last`` (see :func:`check_window`).

    ``forces`` maps force -> :class:`ForceCoverage`; :attr:`flagged` lists the forces missing at
    least one month; :meth:`to_dict` goes into each result's ``meta["coverage"]``.
    """

    first: date
    last: date
    what: str
    forces: dict[str, ForceCoverage] = field(default_factory=dict)
    allow_gaps: bool = False
    excluded: tuple[str, ...] = ()
    #: the excluded forces' coverage of the window (for the output that lists them)
    excluded_coverage: dict[str, ForceCoverage] = field(default_factory=dict)
    #: the parameter that sets the window, named in the refusal (``'months'`` or ``'last'``)
    window_param: str = "months"
    #: the parameter that leaves forces out, named in the refusal
    exclude_param: str = "exclude"

    @property
    def months(self) -> int:
        """Months in the window."""
        return len(month_list(self.first, self.last))

    @property
    def window(self) -> str:
        """``'2023-05..2024-04'``."""
        return f"{_ym(self.first)}..{_ym(self.last)}"

    @property
    def flagged(self) -> tuple[str, ...]:
        """Forces missing at least one month of the window, sorted."""
        return tuple(sorted(f for f, c in self.forces.items() if c.missing))

    @property
    def complete(self) -> bool:
        """True if every force holds every month of the window."""
        return not self.flagged

    def months_held(self, force: str) -> int:
        """How many months of the window ``force`` holds (0 for a force not checked)."""
        cov = self.forces.get(force)
        return len(cov.held) if cov else 0

    def table(self) -> pd.DataFrame:
        """One row per force: ``force, months_held, months_missing, held, missing, data``."""
        rows = [c.to_dict() for _, c in sorted(self.forces.items())]
        cols = [C.FORCE, "months_held", "months_missing", "held", "missing", "data"]
        return pd.DataFrame(rows, columns=cols)

    def note(self) -> str:
        """A sentence for a summary: empty if complete, else which forces miss which months."""
        if self.complete:
            return ""
        parts = [
            f"{f} holds {len(self.forces[f].held)} of {self.months} months (missing "
            f"{month_runs(self.forces[f].missing)})"
            for f in self.flagged
        ]
        return f"Coverage gaps in {self.window}, allowed and flagged: " + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record for ``meta["coverage"]``."""
        return {
            "window": self.window,
            "months": self.months,
            "what": self.what,
            "complete": self.complete,
            "allow_gaps": self.allow_gaps,
            "flagged": list(self.flagged),
            "excluded": list(self.excluded),
            "forces": {f: c.to_dict() for f, c in sorted(self.forces.items())},
            "excluded_forces": {f: c.to_dict() for f, c in sorted(self.excluded_coverage.items())},
        }


def check_window(
    ws: Workspace,
    first: date | str,
    last: date | str,
    *,
    forces: Sequence[str] | None = None,
    allow_gaps: bool = False,
    what: str = "this computation",
    exclude: Sequence[str] = (),
    kind: str = "street",
    window_param: str = "months",
    exclude_param: str = "exclude",
) -> CoverageCheck:
    """Check that each force holds every month of ``first..last``; refuse or flag the gaps.

    Parameters
    ----------
    ws
        The workspace.
    first, last
        The window, inclusive (dates or ``"YYYY-MM"``).
    forces
        The forces the computation covers (default: every force in the workspace). A force named
        here that the workspace does not hold is missing every month.
    allow_gaps
        False (default): a force missing any month raises :class:`InputError`. True: return the
        check with the gaps listed in :attr:`CoverageCheck.flagged` for the caller to flag.
    what
        What the window is for, used in the message (e.g. ``"allocate"``).
    exclude
        Forces left out on purpose (each must be a force of the workspace).
    kind
        The kind of data checked (see :func:`coverage_table`).
    window_param, exclude_param
        The caller's parameters setting the window and leaving forces out, named in the refusal
        (e.g. ``"last"`` for a trailing window, ``"exclude_forces"``).

    Raises
    ------
    InputError
        If a force misses months and ``allow_gaps`` is False; the message names each such force,
        the months it holds, the window asked, and the fixes (``'months'``, ``'exclude'``,
        ``'allow_gaps'``).

    Example
    -------
    >>> from gripkit import Workspace
    >>> with Workspace(":memory:") as ws:
    ...     check_window(ws, "2023-05", "2024-04").complete
    True
    """
    start, end = parse_month(first, "first"), parse_month(last, "last")
    if end < start:
        raise InputError(
            f"'months' must run forwards; received {_ym(start)}..{_ym(end)}. "
            f"Pass e.g. {_ym(end)}..{_ym(start)}."
        )
    held = held_months(ws, kind=kind)
    excluded = _excluded(held, exclude, exclude_param)
    names = list(held) if forces is None else list(dict.fromkeys(str(f) for f in forces))
    result = {f: _cover(held, f, start, end) for f in names if f not in excluded}
    check = CoverageCheck(start, end, what, result, allow_gaps, excluded,
                          {f: _cover(held, f, start, end) for f in excluded}, window_param, exclude_param)
    if check.flagged and not allow_gaps:
        raise InputError(_refusal(check))
    return check


def check_force_windows(
    ws: Workspace,
    windows: Mapping[str, tuple[date, date]],
    *,
    allow_gaps: bool = False,
    what: str = "this computation",
    kind: str = "street",
    window_param: str = "last",
    exclude_param: str = "exclude",
) -> dict[str, CoverageCheck]:
    """:func:`check_window` for forces with windows of their own (e.g. each force's last 12 months).

    ``windows`` maps force -> (first, last). Returns force -> :class:`CoverageCheck` (one force
    each); a force missing months of its window raises one InputError naming every such force,
    unless ``allow_gaps``. Forces to leave out are simply not passed (validate them with
    :func:`workspace_forces`).
    """
    held = held_months(ws, kind=kind)
    checks = {}
    for force, (first, last) in windows.items():
        start, end = parse_month(first, "first"), parse_month(last, "last")
        checks[force] = CoverageCheck(start, end, what, {force: _cover(held, force, start, end)}, allow_gaps,
                                      window_param=window_param, exclude_param=exclude_param)
    flagged = [c for c in checks.values() if c.flagged]
    if flagged and not allow_gaps:
        raise InputError(_refusal(*flagged, own_windows=True))
    return checks


def excluded_forces(ws: Workspace, exclude: Sequence[str], *, param: str = "exclude",
                    kind: str = "street") -> tuple[str, ...]:
    """``exclude`` as a tuple of distinct names, each a force of the workspace (else InputError)."""
    return _excluded(held_months(ws, kind=kind), exclude, param)


def _excluded(held: Mapping[str, Sequence[date]], exclude: Sequence[str], param: str) -> tuple[str, ...]:
    excluded = tuple(dict.fromkeys(str(f) for f in exclude))
    unknown = [f for f in excluded if f not in held]
    if unknown:
        raise InputError(
            f"'{param}' names force(s) the workspace does not hold: {', '.join(unknown)}; it holds "
            f"{', '.join(held) or 'no force'}. Pass one of those names."
        )
    return excluded


def _cover(held: Mapping[str, Sequence[date]], force: str, start: date, end: date) -> ForceCoverage:
    have = set(held.get(force, ()))
    span = month_list(start, end)
    return ForceCoverage(
        force,
        tuple(m for m in span if m in have),
        tuple(m for m in span if m not in have),
        tuple(sorted(have)),
    )


def _refusal(*checks: CoverageCheck, own_windows: bool = False) -> str:
    """One message for the flagged forces of one window (or of each force's own window)."""
    lines, names = [], []
    for check in checks:
        own = f" of its window {check.window}" if own_windows else " asked"
        for force in check.flagged:
            cov = check.forces[force]
            names.append(force)
            lines.append(
                f"{force} holds {len(cov.held)} of the {check.months} months{own} "
                f"(missing {month_runs(cov.missing)}; its data covers {month_runs(cov.anywhere)})"
            )
    first = checks[0]
    head = (
        f"the window {first.window} ({first.months} months) is not covered by every force"
        if not own_windows
        else "each force's own window must be fully held, and is not"
    )
    listed = ", ".join(repr(f) for f in names)
    return (
        f"{first.what}: {head}; "
        + "; ".join(lines)
        + f". Missing months would count as zero crime. Pass '{first.window_param}' for a window every "
        + f"force holds, '{first.exclude_param}' the force ({listed}), or 'allow_gaps' to proceed with "
        + "the gaps flagged in the output."
    )
