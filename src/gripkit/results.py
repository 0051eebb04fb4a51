"""One result protocol for every pipeline stage, and the registry of the kinds the workspace stores.

Every stage's result (hotspots, a backtest, a patrol plan, dosage and compliance, power, the
effects of an evaluation, an allocation, a national run, an ingest) has the same small surface,
as spopt's output mixins and esda's uniform attributes give their results one shape:

* ``kind`` -- the name it is stored under (a key of :data:`KINDS`);
* ``meta`` -- provenance: inputs, parameters, harm table name and SHA-256, months, seed;
* ``to_dict()`` -- the result as a JSON-safe dict;
* ``summary()`` -- one plain-English paragraph with rounded numbers;
* ``tables()`` -- the frames behind it, by name (e.g. the hotspot layer), stored as Parquet.

The library, not the CLI, stores them (:meth:`gripkit.workspace.Workspace.save_result`), so a
pipeline run from Python reaches ``gripkit report`` and the dashboard exactly as one run from the
CLI. Reading a kind that no class writes is an error, not an empty section.

Example
-------
>>> sorted(KINDS)[:3]
['allocation', 'audit', 'backtest']
>>> to_jsonable({"n": __import__("numpy").int64(3), "when": __import__("datetime").date(2024, 5, 1)})
{'n': 3, 'when': '2024-05-01'}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from gripkit.errors import InputError

__all__ = [
    "KINDS",
    "Kind",
    "ResultMixin",
    "StageResult",
    "StoredResult",
    "check_kind",
    "decode_json",
    "to_jsonable",
]


@runtime_checkable
class StageResult(Protocol):
    """What every stage result offers (see the module docstring)."""

    kind: ClassVar[str]
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-safe dict."""
        ...

    def summary(self) -> str:
        """One plain-English paragraph."""
        ...

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames behind the result, by name."""
        ...


class ResultMixin:
    """Defaults for the protocol: no tables; ``provenance()`` is ``meta`` made JSON-safe."""

    kind: ClassVar[str]
    meta: dict[str, Any]

    def tables(self) -> dict[str, pd.DataFrame]:
        """No frames beyond ``to_dict()`` unless a result says otherwise."""
        return {}

    def provenance(self) -> dict[str, Any]:
        """``meta`` as JSON-safe values."""
        out = to_jsonable(self.meta)
        return out if isinstance(out, dict) else {}


@dataclass(frozen=True)
class Kind:
    """A result kind: its name, a heading for reports, and the class that writes it."""

    name: str
    title: str
    writer: str  # "module:Class" of the result type whose ``kind`` is ``name``
    internal: bool = False  # a cache a job keeps for itself (no report section)

    def writer_class(self) -> type:
        """Import and return the writing class (used by tests and the report)."""
        from importlib import import_module

        module, _, cls = self.writer.partition(":")
        return getattr(import_module(module), cls)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("ingest", "Data ingest", "gripkit.ingestion.report:IngestReport"),
        Kind("hotspots", "Hotspots", "gripkit.hotspots.find:HotspotResult"),
        Kind("emerging", "Emerging hot spots", "gripkit.hotspots.emerging_job:EmergingResult"),
        Kind("backtest", "Forecast backtest", "gripkit.forecast.report:BacktestResult"),
        Kind("plan", "Patrol plan", "gripkit.patrol.job:PlanResult"),
        Kind("compliance", "Dosage and compliance", "gripkit.dosage.tracking:Compliance"),
        Kind("power", "Power of the design", "gripkit.evaluate.power:PowerResult"),
        Kind("evaluation_design", "Evaluation design", "gripkit.evaluate.design:Design"),
        Kind("evaluation", "Evaluation", "gripkit.evaluate.experiment:EvaluationResult"),
        Kind("allocation", "Funding allocation", "gripkit.funding.pot:Allocation"),
        Kind("national", "National run", "gripkit.national.run:NationalResult"),
        Kind("audit", "Hotspot selection audit", "gripkit.audit.job:AuditResult"),
        Kind("returns", "Home Office returns", "gripkit.funding.returns:Returns"),
        Kind("national_force", "National run: one force's row", "gripkit.national.run:run_national", True),
    )
}


def check_kind(kind: str) -> Kind:
    """The registered :class:`Kind` called ``kind``; an :class:`InputError` naming the kinds if none."""
    try:
        return KINDS[kind]
    except KeyError:
        raise InputError(
            f"'kind' must be a stored result kind; received {kind!r}, which nothing writes. "
            f"Choose from: {', '.join(KINDS)}."
        ) from None


@dataclass(frozen=True)
class StoredResult:
    """One stored result as read back: its id, kind, time, provenance, dict and summary."""

    result_id: int
    kind: str
    created_at: Any
    meta: dict[str, Any]
    payload: Any
    summary: str | None = None
    table_names: tuple[str, ...] = field(default=())

    @property
    def params(self) -> dict[str, Any]:
        """``meta`` under its old name."""
        return self.meta


def decode_json(text: Any) -> Any:
    """A stored JSON column decoded (None stays None; text that is not JSON comes back as is)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy, pandas, dates, paths, sets and NaN made JSON-safe (NaN -> None)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [to_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series | np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, set | frozenset):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return to_jsonable(value.to_dict())
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)
