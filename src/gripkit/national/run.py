"""The national Grip run: ingest, then every force's row (reused when its inputs are unchanged).

A force's result is keyed by the SHA-256 of its active street sources' hashes, the run parameters
and the harm table's hash; results live in the workspace ``results`` table (kind
``national_force``, the run's own cache) and are reused when the key matches, so a monthly update
re-computes only the forces whose files changed. The run itself is stored as a
:class:`NationalResult` (kind ``"national"``) for the report and the dashboard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.coverage import check_force_windows, excluded_forces, held_months
from gripkit.errors import InputError
from gripkit.funding import split_pot
from gripkit.harm import load_harm_table
from gripkit.ingestion import IngestReport, ingest
from gripkit.months import trailing
from gripkit.national.compute import compute_rows
from gripkit.national.force import NationalParams
from gripkit.national.output import check_output_dir, write_map, write_table
from gripkit.progress import Progress, after
from gripkit.results import ResultMixin, to_jsonable
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
RESULT_KIND = "national_force"
#: Bump when the meaning of a force row changes, so older cached rows are not reused.
#: 2: rows carry their windows' coverage (months_held, months_missing, previous_missing), and the
#: trend needs every month of the window before.
KEY_VERSION = 2


@dataclass
class NationalResult(ResultMixin):
    """A national run: the table, what was reused or recomputed, timings and files written.

    Attributes
    ----------
    table
        One row per force (see :func:`gripkit.national.force.summarise_force`), with ``reused`` and,
        with a pot, ``allocation`` and ``allocation_share``; a force left out with
        ``exclude_forces`` is a row with no figures, £0 and the note "excluded on request".
    meta
        ``params`` (:meth:`NationalParams.describe`), ``forces``, ``months`` (the earliest and latest
        month of the forces' windows), ``harm_table`` and ``harm_sha256``, ``pot``, ``inputs``,
        ``out``, the ingest's stored result id (``ingest_result_id``) when files were ingested,
        ``coverage`` (each force's window, months held and missing), ``allow_gaps``,
        ``exclude_forces`` and ``behind`` (forces whose window ends before the newest month).
    """

    kind: ClassVar[str] = "national"
    table: pd.DataFrame
    reused: list[str] = field(default_factory=list)
    recomputed: list[str] = field(default_factory=list)
    ingest: IngestReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Path] = field(default_factory=dict)
    allocation: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``meta``, forces reused and recomputed, timings, files written, the ingest's counts and
        the table's records."""
        ingest = self.ingest
        out = to_jsonable({
            "meta": self.meta,
            "forces": len(self.table),
            "recomputed": self.recomputed,
            "reused": self.reused,
            "seconds": self.seconds,
            "outputs": {k: str(v) for k, v in self.outputs.items()},
            "ingest": None if ingest is None else {
                k: v for k, v in ingest.to_dict().items() if k in ("files", "read", "loaded", "quarantined")
            },
            "sv_harm": float(self.table["sv_harm"].sum()) if len(self.table) else 0.0,
            "table": self.table,
        })
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        """One paragraph: forces and windows, total harm and the force with most, reuse, the pot.

        e.g. "National run on 3 forces, each over its last 2 months (2023-03 to 2023-04; trend
        against the 2 before), cchi harm: 1,234,567 serious-violence harm in all; most in Kent
        (456,789, 37.0%). 3 of 3 forces' rows recomputed, 0 reused."
        """
        meta, table = self.meta, self.table
        params = meta.get("params", {})
        n = params.get("last", "?")
        months = meta.get("months") or {}
        span = f"{months.get('first')} to {months.get('last')}" if months.get("first") else "no months"
        harm = meta.get("harm_table") or "counted"
        forces = f"{len(table):,} force" + ("" if len(table) == 1 else "s")
        text = (f"National run on {forces}, each over its last {n} months ({span}; trend against the "
                f"{n} before), {harm} harm")
        harms = table["sv_harm"].to_numpy(dtype=float) if len(table) else np.zeros(0)
        if np.isfinite(harms).any():
            total, most = float(np.nansum(harms)), int(np.nanargmax(harms))
            share = harms[most] / total if total else 0.0
            text += (f": {total:,.0f} serious-violence harm in all; most in {table[C.FORCE].iloc[most]} "
                     f"({harms[most]:,.0f}, {share:.1%})")
        done = len(self.recomputed) + len(self.reused)
        whose = "force's row" if done == 1 else "forces' rows"
        text += f". {len(self.recomputed):,} of {done:,} {whose} recomputed, {len(self.reused):,} reused."
        if self.allocation is not None and meta.get("pot"):
            text += f" £{float(meta['pot']):,.2f} split across the forces in proportion to that harm."
        return text + _coverage_sentences(table, meta)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The national table under ``"national"``."""
        return {"national": self.table}


def _coverage_sentences(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """Gaps allowed, forces whose window ends early, trends left out and exclusions, as sentences."""
    text = ""
    if "months_missing" in table.columns:
        gaps = table[table["months_missing"].fillna("").astype(str) != ""]
        if len(gaps):
            n = meta.get("params", {}).get("last", "?")
            text += " Windows only partly held (allowed with allow_gaps): " + "; ".join(
                f"{r[C.FORCE]} holds {int(r['months_held'])} of {n} months, missing {r['months_missing']}"
                for _, r in gaps.iterrows()
            ) + "."
    behind = meta.get("behind") or {}
    if behind:
        newest = meta.get("newest_month")
        text += f" Windows ending before the newest month ({newest}): " + "; ".join(
            f"{force} ends {months} month{'s' if months != 1 else ''} earlier"
            for force, months in behind.items()
        ) + "."
    if "previous_missing" in table.columns:
        no_trend = table[table["previous_missing"].fillna("").astype(str) != ""][C.FORCE].tolist()
        if no_trend:
            text += f" No trend where the window before is not fully held: {', '.join(map(str, no_trend))}."
    if meta.get("exclude_forces"):
        text += f" Excluded on request: {', '.join(map(str, meta['exclude_forces']))}."
    return text


def force_keys(ws: Workspace, params: NationalParams, harm_sha256: str | None) -> dict[str, str]:
    """``{force: key}``: SHA-256 over the force's active street-source hashes and the parameters.

    Examples
    --------
    >>> with Workspace(":memory:") as ws:
    ...     force_keys(ws, NationalParams(), None)
    {}
    """
    rows = ws.con.execute(
        "SELECT force, list(sha256 ORDER BY sha256) FROM sources "
        "WHERE status = 'active' AND kind = 'street' AND force IS NOT NULL AND rows_loaded > 0 "
        "GROUP BY force ORDER BY force"
    ).fetchall()
    keys = {}
    for force, hashes in rows:
        text = json.dumps(
            {"v": KEY_VERSION, "force": force, "sources": hashes, "params": params.describe(),
             "harm_sha256": harm_sha256},
            sort_keys=True,
        )
        keys[str(force)] = hashlib.sha256(text.encode()).hexdigest()
    return keys


def cached_rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    """``{key: row}`` of every stored ``national_force`` result (newest wins).

    Examples
    --------
    >>> with Workspace(":memory:") as ws:
    ...     _ = ws.record_result(RESULT_KIND, params={"key": "k"}, payload={"force": "Kent"})
    ...     cached_rows(ws)
    {'k': {'force': 'Kent'}}
    """
    out: dict[str, dict[str, Any]] = {}
    for params, payload in ws.con.execute(
        "SELECT params, payload FROM results WHERE kind = ? ORDER BY result_id", [RESULT_KIND]
    ).fetchall():
        out[json.loads(params)["key"]] = json.loads(payload)
    return out


def run_national(
    paths: Iterable[str | Path],
    ws: Workspace,
    out: str | Path,
    *,
    params: NationalParams | None = None,
    pot: float | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    batch_rows: int = 500_000,
    allow_gaps: bool = False,
    exclude_forces: Iterable[str] = (),
    store: bool = True,
) -> NationalResult:
    """Ingest ``paths`` and build the national table, map and (with ``pot``) allocation.

    Parameters
    ----------
    paths
        police.uk bulk zips, month folders or files (any number of forces); may be empty to
        rebuild from what the workspace holds.
    ws
        Open workspace (a file for the process pool and for reuse across runs).
    out
        Output folder: ``national.csv``, ``national.parquet``, ``national_map.png``.
    params
        :class:`NationalParams` (window, harm table, cell size, patrol areas).
    pot
        Pounds to split across forces in proportion to the table's serious-violence harm (each
        force's last ``params.last`` months), to the penny (:func:`gripkit.funding.split_pot`).
    workers
        Worker processes of the ingest (None: the CPU count for inputs of
        :data:`~gripkit.ingestion.staged.PROCESS_THRESHOLD_BYTES` or more, see
        :func:`gripkit.ingestion.ingest`) and most processes for the per-force rows (default: CPU
        count; see :func:`gripkit.national.compute.compute_rows` for when a pool is started).
    progress, batch_rows
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): the ingest's files
        (:func:`gripkit.ingestion.ingest`), then the forces recomputed, on one scale (``total`` grows
        from the files to files + forces once the forces are known); ``batch_rows``: rows per transaction.
    allow_gaps
        Each force's last ``params.last`` months must all hold crimes of that force (a missing month
        would count as none): otherwise InputError naming each such force, its months and its
        window, before anything is computed or written (:func:`gripkit.coverage.check_force_windows`).
        True: proceed, the gaps flagged in the table (``months_held``, ``months_missing``), the
        summary and ``meta["coverage"]``. A trend needs every month of the window before either way.
    exclude_forces
        Forces left out on purpose: not computed, listed in the table (no figures, £0 of a pot) and
        the summary.
    store
        Store the run in ``ws`` as a :class:`NationalResult` (kind ``"national"``, with its
        table); the per-force rows are cached either way.

    Examples
    --------
    >>> import tempfile
    >>> from gripkit import datasets
    >>> ws = Workspace(":memory:")
    >>> result = run_national(datasets.bedfordshire_street_files()[:2], ws, tempfile.mkdtemp(),
    ...                       params=NationalParams(last=1, cell_size=500))
    >>> result.recomputed, sorted(result.outputs)
    (['Bedfordshire'], ['csv', 'map', 'parquet'])
    >>> ws.latest_result("national").result_id == result.meta["result_id"]
    True
    >>> run_national([], ws, tempfile.mkdtemp(), params=NationalParams(last=1, cell_size=500)).reused
    ['Bedfordshire']
    """
    params = params or NationalParams()
    if pot is not None and not pot > 0:
        raise InputError(f"'pot' must be a positive amount; received {pot!r}. Pass e.g. 4000000.")
    folder = check_output_dir(out)
    table = load_harm_table(params.harm)
    result = NationalResult(table=pd.DataFrame())
    started = time.perf_counter()
    todo_paths = list(paths)
    if todo_paths:
        result.ingest = ingest(todo_paths, ws, progress=progress, batch_rows=batch_rows, workers=workers)
    result.seconds["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    keys = force_keys(ws, params, table.sha256 if table else None)
    if not keys:
        raise InputError(f"workspace {ws.path} holds no street crimes with a force; ingest police.uk files.")
    excluded = excluded_forces(ws, list(exclude_forces), param="exclude_forces")
    keys = {f: k for f, k in keys.items() if f not in excluded}
    if not keys:
        raise InputError(f"'exclude_forces' leaves no force to compute; received {list(excluded)}.")
    coverage, behind, newest = _coverage(ws, list(keys), params.last, allow_gaps)
    cache = cached_rows(ws)
    result.reused = [f for f, k in keys.items() if k in cache]
    result.recomputed = [f for f, k in keys.items() if k not in cache]
    files = result.ingest.files if result.ingest is not None else 0  # the ingest's scale: files found
    processes = workers or os.cpu_count() or 1
    fresh = compute_rows(ws, result.recomputed, params, table, processes, after(progress, files))
    with ws.transaction():
        for force in result.recomputed:
            ws.record_result(
                RESULT_KIND, params={"key": keys[force], "force": force, **params.describe()},
                payload=fresh[force], harm_table=table.name if table else None,
                harm_sha256=table.sha256 if table else None,
            )
    rows = [
        {**(cache[keys[f]] if f in result.reused else fresh[f]), "reused": f in result.reused} for f in keys
    ]
    result.seconds["forces"] = time.perf_counter() - started
    started = time.perf_counter()
    national = pd.DataFrame(rows).sort_values(C.FORCE, kind="mergesort").reset_index(drop=True)
    if pot is not None:
        # the table's own harm (each force's last window), split with gripkit.funding.split_pot
        scores = pd.Series(national["sv_harm"].to_numpy(float), index=national[C.FORCE])
        result.allocation = split_pot(scores, pot)
        national["allocation"] = result.allocation["allocation"].to_numpy()
        national["allocation_share"] = result.allocation["share"].to_numpy()
    if excluded:
        left_out = pd.DataFrame({C.FORCE: list(excluded), "note": "excluded on request", "reused": False})
        if pot is not None:
            left_out = left_out.assign(allocation=0.0, allocation_share=0.0)
        national = pd.concat([national, left_out], ignore_index=True)
        national = national.sort_values(C.FORCE, kind="mergesort").reset_index(drop=True)
    result.table = national
    result.outputs = write_table(national, folder)
    result.outputs["map"] = write_map(national, folder / "national_map.png")
    result.seconds["table"] = time.perf_counter() - started
    windows = [str(w) for w in national["window"].dropna()] if "window" in national.columns else []
    firsts, lasts = [w[:7] for w in windows], [w[-7:] for w in windows]
    result.meta = {
        "params": params.describe(),
        "forces": list(keys),
        "months": {"first": min(firsts), "last": max(lasts)} if windows else None,
        "harm_table": table.name if table else None,
        "harm_sha256": table.sha256 if table else None,
        "pot": pot,
        "inputs": [str(p) for p in todo_paths],
        "out": str(folder),
        "ingest_result_id": result.ingest.meta.get("result_id") if result.ingest is not None else None,
        "workspace": ws.path,
        "coverage": coverage,
        "allow_gaps": allow_gaps,
        "exclude_forces": list(excluded),
        "newest_month": newest,
        "behind": behind,
    }
    if store:
        ws.save_result(result)
    log.info("national: %d forces recomputed, %d reused", len(result.recomputed), len(result.reused))
    return result


def _coverage(
    ws: Workspace, forces: list[str], last: int, allow_gaps: bool
) -> tuple[dict[str, Any], dict[str, int], str | None]:
    """Check each force's own last ``last`` months (refusing gaps unless ``allow_gaps``); return the
    coverage record per force, the forces whose window ends before the newest month (by how many
    months), and the newest month."""
    held = held_months(ws)
    ends = {f: held[f][-1] for f in forces if held.get(f)}
    windows = {f: trailing(end, last) for f, end in ends.items()}
    checks = check_force_windows(ws, windows, allow_gaps=allow_gaps, what="national",
                                 exclude_param="exclude_forces")
    newest = max(ends.values()) if ends else None
    behind = {}
    for force, end in sorted(ends.items()):
        lag = (newest.year - end.year) * 12 + newest.month - end.month if newest else 0
        if lag > 0:
            behind[force] = lag
    record = {f: {"window": c.window, **c.forces[f].to_dict()} for f, c in checks.items()}
    return record, behind, f"{newest:%Y-%m}" if newest else None
