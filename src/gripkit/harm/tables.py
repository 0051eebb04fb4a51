"""Harm tables: one weight per police.uk crime type, with provenance.

A harm table is a CSV with the columns ``crime_type, weight, source, note`` and one row per crime
type. The bundled tables (``src/gripkit/harm/tables/``):

``cchi``
    Cambridge Crime Harm Index (Sherman, Neyroud & Neyroud 2016), days of custody: each category the
    volume-weighted mean of its offences' subgroup days (:mod:`gripkit.harm.derive`). The default.
``ons_css``
    ONS Crime Severity Score: each category the volume-weighted mean of its offences' CSS weights.
``cchi_per_force``, ``ons_css_per_force``
    The same, each force weighted by its own offence mix (``load_harm_table(name, per_force=True)``
    is the same table); crimes are matched to their force by the ``force`` column.
``cchi_ranges_legacy``, ``ons_css_medians_legacy``
    The tables gripkit shipped before the derivation (midpoints of third-party ranges; unweighted
    medians of offence weights), kept for comparison, never a default.

``cchi`` and ``ons_css`` also weigh a crime that carries its Home Office offence code (the
``offence_code`` column of a force's own CSV) by that offence's weight instead of its category's.

Users may pass the path of their own CSV in the same format (``note`` may be omitted). A table is
identified by its name and the SHA-256 of its bytes, which every result should record.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from gripkit.columns import CRIME_TYPE, CRIME_TYPES, DEFAULT_HARM_TABLE, FORCE, HARM, OFFENCE_CODE
from gripkit.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_TABLE = DEFAULT_HARM_TABLE
"""Name of the bundled table used when no table is named."""

_REQUIRED = (CRIME_TYPE, "weight", "source")
_OPTIONAL = ("note",)
_SERIOUS_VIOLENCE = ("serious_violence", "serious_violence_reactive")
_NOT_HARM_TABLES = frozenset(_SERIOUS_VIOLENCE)
_DERIVED = ("cchi", "ons_css")
_PER_FORCE = "_per_force"
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SHOWN = 3  # values of a user's file quoted in an error, at most

_LEGACY = {
    "cchi_ranges_legacy": (
        "Sherman, Neyroud & Neyroud (2016) CCHI; police.uk category aggregates from third-party summaries",
        "gripkit 0.x bundled cchi table (legacy)",
        "Midpoint of the range of third-party aggregates seen per category; superseded by the derived "
        "cchi table.",
    ),
    "ons_css_medians_legacy": (
        "ONS Crime Severity Score offence weights as transcribed in a third-party file",
        "gripkit 0.x bundled ons_css table (legacy, provisional)",
        "Unweighted median of the category's offence weights; superseded by the derived ons_css table, "
        "which weighs each offence by how often it is recorded.",
    ),
}


def _frozen(mapping: Mapping[str, float] | None = None) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping or {}))


def _unpickle(*fields: Any) -> HarmTable:
    """Rebuild a pickled :class:`HarmTable`, its mappings read-only again."""
    name, sha256, weights, frame, path, source, edition, derivation, offences, forces = fields
    return HarmTable(name, sha256, weights, frame, path, source, edition, derivation, _frozen(offences),
                     MappingProxyType({f: _frozen(w) for f, w in forces.items()}))


@dataclass(frozen=True)
class HarmTable:
    """A loaded harm table.

    Attributes
    ----------
    name : str
        Bundled name (``"cchi"``, ``"ons_css_per_force"``) or the file stem of a user CSV.
    sha256 : str
        Hex SHA-256 of the CSV bytes (per-force tables: of their force x crime type CSV); record it
        with every result.
    weights : dict[str, float]
        Harm weight per crime type (per-force tables: the national weight).
    frame : pandas.DataFrame
        The table with columns ``crime_type, weight, source, note``.
    path : str or None
        Absolute path of a user CSV; ``None`` for a bundled table.
    source, edition, derivation : str
        Where the weights come from, which edition, and how a category weight was made ("" when a
        user CSV does not say).
    offence_weights : Mapping[str, float]
        Weight per Home Office offence code (empty for tables without offence-level weights).
    force_weights : Mapping[str, Mapping[str, float]]
        Per-force tables only: force -> crime type -> weight.
    """

    name: str
    sha256: str
    weights: dict[str, float]
    frame: pd.DataFrame
    path: str | None
    source: str = ""
    edition: str = ""
    derivation: str = ""
    offence_weights: Mapping[str, float] = field(default_factory=_frozen)
    force_weights: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle (worker processes) with plain dicts: read-only mapping proxies cannot be pickled."""
        forces = {force: dict(w) for force, w in self.force_weights.items()}
        return (_unpickle, (self.name, self.sha256, self.weights, self.frame, self.path, self.source,
                            self.edition, self.derivation, dict(self.offence_weights), forces))

    @property
    def per_force(self) -> bool:
        """True when each force has its own weights (see :attr:`force_weights`)."""
        return bool(self.force_weights)

    def describe(self) -> str:
        """Return ``"name (sha256 first 12 hex)"`` for logs and reports."""
        return f"{self.name} (sha256 {self.sha256[:12]})"

    def to_dict(self) -> dict[str, object]:
        """JSON-safe description: provenance and every weight (per force too, when per force)."""
        out: dict[str, object] = {
            "name": self.name,
            "sha256": self.sha256,
            "source": self.source,
            "edition": self.edition,
            "derivation": self.derivation,
            "per_force": self.per_force,
            "weights": self.frame.fillna("").to_dict(orient="records"),
        }
        if self.per_force:
            out["force_weights"] = {f: dict(w) for f, w in self.force_weights.items()}
        if self.offence_weights:
            out["offence_weights"] = dict(self.offence_weights)
        return out


def _tables_dir() -> resources.abc.Traversable:
    return resources.files("gripkit.harm").joinpath("tables")


def list_harm_tables() -> list[str]:
    """Return the names of the bundled harm tables, sorted.

    Examples
    --------
    >>> list_harm_tables()
    ['cchi', 'cchi_per_force', 'cchi_ranges_legacy', 'ons_css', 'ons_css_medians_legacy', 'ons_css_per_force']
    """
    names = [entry.name[: -len(".csv")] for entry in _tables_dir().iterdir() if entry.name.endswith(".csv")]
    names += [f"{n}{_PER_FORCE}" for n in _DERIVED]
    return sorted(n for n in names if n not in _NOT_HARM_TABLES)


def _few(items: list[str]) -> str:
    """At most a few items, and how many more there are."""
    more = f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else ""
    return ", ".join(items[:_SHOWN]) + more


def _quote(values: list[str] | np.ndarray | pd.Series) -> str:
    """At most a few values of a user's file (each cut to 40 characters), quoted."""
    return _few([repr(str(v)[:40]) for v in list(values)])


def _read_csv_bytes(data: bytes, label: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = type(exc).__name__ if isinstance(exc, UnicodeDecodeError) else str(exc)[:120]
        raise InputError(
            f"harm table {label} is not a readable CSV ({reason}). Save it as UTF-8 CSV with a header row."
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _check_crime_types(types: pd.Series, label: str) -> None:
    blank = types == ""
    if blank.any():
        lines = [str(i + 2) for i in np.flatnonzero(blank.to_numpy())]
        shown = _few(lines)
        raise InputError(
            f"harm table {label} has blank crime_type on line(s) {shown}. Fill in a police.uk crime type."
        )
    duplicated = sorted(set(types[types.duplicated()]))
    if duplicated:
        raise InputError(
            f"harm table {label} lists crime type(s) more than once: {_few([d[:40] for d in duplicated])}. "
            "Keep one row per crime type."
        )
    unknown = sorted(set(types) - set(CRIME_TYPES))
    if unknown:
        raise InputError(
            f"harm table {label} has {len(unknown)} unknown crime type(s) in column crime_type: "
            f"{_quote(unknown)}. Use the police.uk names exactly: {', '.join(CRIME_TYPES)}."
        )


def _parse_weights(raw: pd.Series, types: pd.Series, label: str) -> pd.Series:
    weights = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = ~np.isfinite(weights.to_numpy())
    if bad.any():
        pairs = [f"{t}={v[:20]!r}" for t, v in zip(types[bad], raw[bad], strict=True)]
        shown = _few(pairs)
        raise InputError(
            f"harm table {label} has non-numeric weight(s) in column weight: {shown}. Write each weight "
            "as a number such as 2 or 273.75."
        )
    negative = weights < 0
    if negative.any():
        received = ", ".join(f"{t}={w:g}" for t, w in zip(types[negative], weights[negative], strict=True))
        raise InputError(
            f"harm table {label} has negative weight(s): {received}. Weights must be >= 0; use 0 to ignore "
            "a crime type."
        )
    return weights


def _parse_table(data: bytes, label: str) -> pd.DataFrame:
    frame = _read_csv_bytes(data, label)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"harm table {label} lacks column(s) {', '.join(missing)}; received {len(frame.columns)} "
            f"column(s) {_quote(frame.columns.tolist())}. A harm table needs the header "
            "crime_type,weight,source,note."
        )
    for column in _OPTIONAL:
        if column not in frame.columns:
            frame[column] = ""
    types = frame[CRIME_TYPE].astype(str).str.strip()
    _check_crime_types(types, label)
    weights = _parse_weights(frame["weight"].astype(str).str.strip(), types, label)
    return pd.DataFrame(
        {
            CRIME_TYPE: types.to_numpy(),
            "weight": weights.to_numpy(),
            "source": frame["source"].astype(str).to_numpy(),
            "note": frame["note"].astype(str).to_numpy(),
        }
    )


def _build(
    name: str,
    data: bytes,
    path: str | None,
    label: str,
    source: str = "",
    edition: str = "",
    derivation: str = "",
) -> HarmTable:
    frame = _parse_table(data, label)
    weights = dict(zip(frame[CRIME_TYPE], frame["weight"].astype(float), strict=True))
    return HarmTable(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        weights=weights,
        frame=frame,
        path=path,
        source=source or "; ".join(dict.fromkeys(s for s in frame["source"] if s)),
        edition=edition,
        derivation=derivation,
    )


def normalise_offence_code(code: object) -> str:
    """A Home Office offence code as the tables write it: stripped, upper case (``" 8n "`` -> ``"8N"``)."""
    return str(code).strip().upper()


def _offence_map(offences: pd.DataFrame) -> dict[str, float]:
    """Offence code -> weight; a combined code (``1/4.1/4.10/4.2``) also answers for each part."""
    known = offences.dropna(subset=["weight"])
    pairs = zip(known["offence_code"], known["weight"], strict=True)
    mapping = {normalise_offence_code(c): float(w) for c, w in pairs}
    for code, weight in list(mapping.items()):
        for part in code.split("/"):
            mapping.setdefault(part.strip(), weight)
    return mapping


@lru_cache(maxsize=4)
def _derived_extras(name: str) -> tuple[tuple[tuple[str, str], ...], Mapping[str, float]]:
    """Provenance and offence weights of a derived table (computed once per process)."""
    from gripkit.harm import derive

    made = derive.derive(name)
    provenance = (("source", made.source), ("edition", made.edition), ("derivation", made.derivation))
    return provenance, _frozen(_offence_map(made.offences))


@lru_cache(maxsize=4)
def _force_extras(name: str) -> tuple[str, Mapping[str, Mapping[str, float]]]:
    """SHA-256 and force -> crime type -> weight of a derived table's per-force weights."""
    from gripkit.harm import derive

    by_force = derive.force_weights(name)
    data = by_force.to_csv(index=False, lineterminator="\n", float_format="%.6f").encode("utf-8")
    nested = {
        str(force): MappingProxyType(dict(zip(g[CRIME_TYPE], g["weight"].astype(float), strict=True)))
        for force, g in by_force.groupby(FORCE, sort=True)
    }
    return hashlib.sha256(data).hexdigest(), MappingProxyType(nested)


def _bundled(name: str, *, per_force: bool) -> HarmTable:
    offences: Mapping[str, float] = _frozen()
    if name in _DERIVED:
        pairs, offences = _derived_extras(name)
        provenance = dict(pairs)
    else:
        source, edition, derivation = _LEGACY.get(name, ("", "", ""))
        provenance = {"source": source, "edition": edition, "derivation": derivation}
    data = _tables_dir().joinpath(f"{name}.csv").read_bytes()
    table = replace(_build(name, data, None, repr(name), **provenance), offence_weights=offences)
    if not per_force:
        return table
    sha256, nested = _force_extras(name)
    return replace(
        table,
        name=f"{name}{_PER_FORCE}",
        sha256=sha256,
        derivation=table.derivation + " Per force: each force's own 2017/18 offence mix.",
        force_weights=nested,
    )


def load_harm_table(spec: str | Path | None = DEFAULT_TABLE, *, per_force: bool = False) -> HarmTable | None:
    """Load a bundled or user harm table.

    Parameters
    ----------
    spec : str, pathlib.Path or None
        A bundled name (see :func:`list_harm_tables`; ``"cchi"`` is the default), the path of a CSV with
        columns ``crime_type, weight, source[, note]``, or ``None`` / ``"none"`` for no weighting.
    per_force : bool, default False
        Weigh each force's crimes by its own offence mix (``cchi`` and ``ons_css`` only); the same as
        naming ``"cchi_per_force"`` / ``"ons_css_per_force"``.

    Returns
    -------
    HarmTable or None
        ``None`` means every crime weighs 1 (see :func:`apply_harm`).

    Raises
    ------
    InputError
        Unknown name, missing file, or a CSV with missing columns, non-numeric or negative weights,
        duplicated or unknown crime types; ``per_force`` with a table that has no per-force weights.

    Examples
    --------
    >>> table = load_harm_table("ons_css")
    >>> round(table.weights["Robbery"], 2)
    799.63
    >>> load_harm_table("none") is None
    True
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "none"):
        if per_force:
            raise InputError("'per_force' needs a harm table; received harm=None. Pass harm='ons_css'.")
        return None
    if isinstance(spec, str) and spec in list_harm_tables():
        base, forced = (spec[: -len(_PER_FORCE)], True) if spec.endswith(_PER_FORCE) else (spec, False)
        if per_force and base not in _DERIVED:
            raise InputError(
                f"'per_force' needs a derived table; {spec!r} has one weight per crime type for all "
                f"forces. Pass {' or '.join(map(repr, _DERIVED))}."
            )
        return _bundled(base, per_force=per_force or forced)
    if not isinstance(spec, str | Path):
        raise InputError(
            f"'harm' must be a table name, a path or None; received {type(spec).__name__}. "
            f"Pass one of {', '.join(list_harm_tables())}, none, or a CSV path."
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InputError(
            f"harm table {str(spec)[:80]!r} is neither a bundled table nor an existing file. Pass one of "
            f"{', '.join(list_harm_tables())}, none, or the path of a CSV with columns "
            "crime_type,weight,source,note."
        )
    if per_force:
        raise InputError(
            f"'per_force' needs a derived table; a CSV ({path.name}) has one weight per crime type. "
            f"Pass {' or '.join(map(repr, _DERIVED))}."
        )
    resolved = path.resolve()
    return _build(resolved.stem, resolved.read_bytes(), str(resolved), repr(str(resolved)))


def _category_harm(crimes: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    types = crimes[CRIME_TYPE]
    if isinstance(types.dtype, pd.CategoricalDtype):  # weigh each category once
        values = np.array([weights.get(c, np.nan) for c in types.cat.categories], dtype=float)
        codes = types.cat.codes.to_numpy()
        return pd.Series(np.where(codes >= 0, values[codes], np.nan), index=crimes.index, dtype=float)
    return types.astype(object).map(dict(weights)).astype(float)


def _force_harm(crimes: pd.DataFrame, table: HarmTable) -> pd.Series:
    if FORCE not in crimes.columns:
        raise InputError(
            f"harm table {table.name!r} weighs each force by its own offence mix, but 'crimes' has no "
            f"{FORCE} column. Load crimes with gripkit.Workspace.crimes(), or pass the national table."
        )
    forces = crimes[FORCE].astype(object)
    unknown = sorted(set(forces.dropna().astype(str)) - set(table.force_weights))
    if unknown or forces.isna().any():
        received = _quote(unknown) if unknown else "a blank force"
        raise InputError(
            f"harm table {table.name!r} has no weights for force(s) {received}; it covers the 43 "
            "territorial forces and British Transport Police. Pass the national table instead."
        )
    harm = pd.Series(np.nan, index=crimes.index, dtype=float)
    for force, rows in crimes.groupby(forces, sort=False).groups.items():
        harm.loc[rows] = _category_harm(crimes.loc[rows], table.force_weights[str(force)]).to_numpy()
    return harm


def _offence_harm(crimes: pd.DataFrame, table: HarmTable, harm: pd.Series) -> pd.Series:
    """Crimes carrying a known offence code weigh that offence's weight."""
    if not table.offence_weights or OFFENCE_CODE not in crimes.columns:
        return harm
    raw = crimes[OFFENCE_CODE].astype(object)
    given = raw.notna() & (raw.astype(str).str.strip() != "")
    if not given.any():
        return harm
    codes = raw[given].map(normalise_offence_code)
    weights = codes.map(dict(table.offence_weights)).astype(float)
    unknown = weights.isna()
    if unknown.any():
        logger.warning(
            "harm table %s has no weight for %d crime(s) with offence code(s) %s; they weigh their "
            "category's weight",
            table.name,
            int(unknown.sum()),
            _quote(sorted(set(codes[unknown]))),
        )
    out = harm.copy()
    out.loc[weights.index[~unknown]] = weights[~unknown].to_numpy()
    return out


def apply_harm(crimes: pd.DataFrame, table: HarmTable | None) -> pd.Series:
    """Return the harm weight of every crime.

    A crime weighs its crime type's weight; with a per-force table, its force's weight for that type;
    a crime with a Home Office ``offence_code`` the table knows weighs that offence's weight.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with a ``crime_type`` column (canonical crime frame; ``force`` for per-force tables,
        optionally ``offence_code``). Not modified.
    table : HarmTable or None
        From :func:`load_harm_table`; ``None`` weighs every crime 1.0.

    Returns
    -------
    pandas.Series
        Float harm named ``harm``, aligned to ``crimes.index``.

    Raises
    ------
    InputError
        If ``crime_type`` is missing, or some crime types (or blanks) have no weight in the table.

    Examples
    --------
    >>> crimes = pd.DataFrame({"crime_type": ["Robbery", "Shoplifting"]})
    >>> apply_harm(crimes, load_harm_table("cchi")).tolist()
    [365.0, 1.0]
    >>> apply_harm(crimes, None).tolist()
    [1.0, 1.0]
    """
    if not isinstance(crimes, pd.DataFrame):
        raise InputError(
            f"'crimes' must be a pandas DataFrame; received {type(crimes).__name__}. "
            "Load crimes with gripkit.Workspace.crimes()."
        )
    if CRIME_TYPE not in crimes.columns:
        raise InputError(
            f"'crimes' lacks column {CRIME_TYPE}; received columns {_quote(list(map(str, crimes.columns)))}. "
            "Load crimes with gripkit.Workspace.crimes()."
        )
    if table is None:
        return pd.Series(1.0, index=crimes.index, name=HARM, dtype=float)
    harm = _force_harm(crimes, table) if table.per_force else _category_harm(crimes, table.weights)
    harm = _offence_harm(crimes, table, harm)
    unmatched = harm.isna()
    if unmatched.any():
        counts = crimes[CRIME_TYPE][unmatched].astype(object).fillna("<blank>").astype(str).value_counts()
        listed = ", ".join(f"{t!r} ({n} rows)" for t, n in counts.head(_SHOWN).items())
        if len(counts) > _SHOWN:
            listed += f" and {len(counts) - _SHOWN} more"
        raise InputError(
            f"harm table {table.name!r} has no weight for crime type(s) {listed}. Add a row for each to a "
            "copy of the table and pass its path, or filter those crimes out first."
        )
    return harm.rename(HARM)


def _parse_flags(raw: pd.Series, types: pd.Series, label: str) -> pd.Series:
    lowered = raw.astype(str).str.strip().str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        pairs = [f"{t}={v[:20]!r}" for t, v in zip(types[bad], raw[bad], strict=True)]
        shown = _few(pairs)
        raise InputError(
            f"serious-violence table {label} has value(s) in column serious_violence that are not "
            f"True/False: {shown}. Write True or False."
        )
    return lowered.isin(_TRUE)


def serious_violence_types(path: str | Path | None = None) -> frozenset[str]:
    """Return the crime types counted as serious violence.

    Parameters
    ----------
    path : str, pathlib.Path or None
        ``None`` (or ``"serious_violence"``): the bundled police.uk proxy, Violence and sexual
        offences + Robbery + Possession of weapons. ``"serious_violence_reactive"``: the proxy without
        proactively found offences (Violence and sexual offences + Robbery; weapons possession, like
        drugs, is mostly found by police activity, which the CCHI excludes by design). Or the path of
        a CSV with columns ``crime_type, serious_violence, source``.

    Returns
    -------
    frozenset of str

    Examples
    --------
    >>> sorted(serious_violence_types())
    ['Possession of weapons', 'Robbery', 'Violence and sexual offences']
    >>> sorted(serious_violence_types("serious_violence_reactive"))
    ['Robbery', 'Violence and sexual offences']
    """
    if path is None or (isinstance(path, str) and path in _SERIOUS_VIOLENCE):
        name = "serious_violence" if path is None else str(path)
        data = _tables_dir().joinpath(f"{name}.csv").read_bytes()
        label = repr(name)
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(
                f"serious-violence table {str(path)[:80]!r} is neither bundled nor an existing file. Pass "
                f"{' or '.join(_SERIOUS_VIOLENCE)}, None for the police.uk proxy, or the path of a CSV "
                "with columns crime_type,serious_violence,source."
            )
        data = file.read_bytes()
        label = repr(str(file))
    frame = _read_csv_bytes(data, label)
    missing = [c for c in (CRIME_TYPE, "serious_violence", "source") if c not in frame.columns]
    if missing:
        raise InputError(
            f"serious-violence table {label} lacks column(s) {', '.join(missing)}; received "
            f"{len(frame.columns)} column(s) {_quote(frame.columns.tolist())}. It needs the header "
            "crime_type,serious_violence,source."
        )
    types = frame[CRIME_TYPE].astype(str).str.strip()
    _check_crime_types(types, label)
    flags = _parse_flags(frame["serious_violence"], types, label)
    return frozenset(types[flags.to_numpy()])
