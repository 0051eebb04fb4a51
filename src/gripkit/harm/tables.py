"""Harm tables: CSV files of one weight per police.uk crime type, with provenance.

A harm table is a CSV with the columns ``crime_type, weight, source, note`` and one row per crime
type. Two tables ship with gripkit (``src/gripkit/harm/tables/``):

``cchi``
    Cambridge Crime Harm Index-style aggregates (Sherman, Neyroud & Neyroud 2016), days of custody.
``ons_css``
    ONS Crime Severity Score-style aggregates. **Provisional**: every row is marked ``verify``.

Users may pass the path of their own CSV in the same format (``note`` may be omitted). A table is
identified by its name and the SHA-256 of its bytes, which every result should record.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from gripkit.columns import CRIME_TYPE, CRIME_TYPES, DEFAULT_HARM_TABLE, HARM
from gripkit.errors import InputError

DEFAULT_TABLE = DEFAULT_HARM_TABLE
"""Name of the bundled table used when no table is named."""

_REQUIRED = (CRIME_TYPE, "weight", "source")
_OPTIONAL = ("note",)
_NOT_HARM_TABLES = frozenset({"serious_violence"})
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True)
class HarmTable:
    """A loaded harm table.

    Attributes
    ----------
    name : str
        Bundled name (``"cchi"``) or the file stem of a user CSV.
    sha256 : str
        Hex SHA-256 of the CSV bytes; record it with every result.
    weights : dict[str, float]
        Harm weight per crime type.
    frame : pandas.DataFrame
        The table with columns ``crime_type, weight, source, note``.
    path : str or None
        Absolute path of a user CSV; ``None`` for a bundled table.
    """

    name: str
    sha256: str
    weights: dict[str, float]
    frame: pd.DataFrame
    path: str | None

    def describe(self) -> str:
        """Return ``"name (sha256 first 12 hex)"`` for logs and reports."""
        return f"{self.name} (sha256 {self.sha256[:12]})"


def _tables_dir() -> resources.abc.Traversable:
    return resources.files("gripkit.harm").joinpath("tables")


def list_harm_tables() -> list[str]:
    """Return the names of the bundled harm tables, sorted.

    Examples
    --------
    >>> list_harm_tables()
    ['cchi', 'ons_css']
    """
    names = [entry.name[: -len(".csv")] for entry in _tables_dir().iterdir() if entry.name.endswith(".csv")]
    return sorted(n for n in names if n not in _NOT_HARM_TABLES)


def _read_csv_bytes(data: bytes, label: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(
            f"harm table {label} is not a readable CSV ({exc}). Save it as UTF-8 CSV with a header row."
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _check_crime_types(types: pd.Series, label: str) -> None:
    blank = types == ""
    if blank.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(blank.to_numpy()))
        raise InputError(
            f"harm table {label} has blank crime_type on line(s) {rows}. Fill in a police.uk crime type."
        )
    duplicated = sorted(set(types[types.duplicated()]))
    if duplicated:
        raise InputError(
            f"harm table {label} lists crime type(s) more than once: {', '.join(duplicated)}. "
            "Keep one row per crime type."
        )
    unknown = sorted(set(types) - set(CRIME_TYPES))
    if unknown:
        raise InputError(
            f"harm table {label} has unknown crime type(s): {', '.join(map(repr, unknown))}. "
            f"Use the police.uk names exactly: {', '.join(CRIME_TYPES)}."
        )


def _parse_weights(raw: pd.Series, types: pd.Series, label: str) -> pd.Series:
    weights = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = ~np.isfinite(weights.to_numpy())
    if bad.any():
        received = ", ".join(f"{t}={v!r}" for t, v in zip(types[bad], raw[bad], strict=True))
        raise InputError(
            f"harm table {label} has non-numeric weight(s): {received}. Write each weight as a number "
            "such as 2 or 273.75."
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
            f"harm table {label} lacks column(s) {', '.join(missing)}; received columns "
            f"{', '.join(frame.columns)}. A harm table needs the header crime_type,weight,source,note."
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


def _build(name: str, data: bytes, path: str | None, label: str) -> HarmTable:
    frame = _parse_table(data, label)
    weights = dict(zip(frame[CRIME_TYPE], frame["weight"].astype(float), strict=True))
    return HarmTable(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        weights=weights,
        frame=frame,
        path=path,
    )


def load_harm_table(spec: str | Path | None = DEFAULT_TABLE) -> HarmTable | None:
    """Load a bundled or user harm table.

    Parameters
    ----------
    spec : str, pathlib.Path or None
        A bundled name (see :func:`list_harm_tables`; ``"cchi"`` is the default), the path of a CSV with
        columns ``crime_type, weight, source[, note]``, or ``None`` / ``"none"`` for no weighting.

    Returns
    -------
    HarmTable or None
        ``None`` means every crime weighs 1 (see :func:`apply_harm`).

    Raises
    ------
    InputError
        Unknown name, missing file, or a CSV with missing columns, non-numeric or negative weights,
        duplicated or unknown crime types.

    Examples
    --------
    >>> table = load_harm_table("cchi")
    >>> table.weights["Robbery"]
    365.0
    >>> load_harm_table("none") is None
    True
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "none"):
        return None
    if isinstance(spec, str) and spec in list_harm_tables():
        data = _tables_dir().joinpath(f"{spec}.csv").read_bytes()
        return _build(spec, data, None, repr(spec))
    if not isinstance(spec, str | Path):
        raise InputError(
            f"'harm' must be a table name, a path or None; received {type(spec).__name__} {spec!r}. "
            f"Pass one of {', '.join(list_harm_tables())}, none, or a CSV path."
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InputError(
            f"harm table {str(spec)!r} is neither a bundled table nor an existing file. Pass one of "
            f"{', '.join(list_harm_tables())}, none, or the path of a CSV with columns "
            "crime_type,weight,source,note."
        )
    resolved = path.resolve()
    return _build(resolved.stem, resolved.read_bytes(), str(resolved), repr(str(resolved)))


def apply_harm(crimes: pd.DataFrame, table: HarmTable | None) -> pd.Series:
    """Return the harm weight of every crime.

    Parameters
    ----------
    crimes : pandas.DataFrame
        Crimes with a ``crime_type`` column (canonical crime frame). Not modified.
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
            f"'crimes' lacks column {CRIME_TYPE}; received columns {', '.join(map(str, crimes.columns))}. "
            "Load crimes with gripkit.Workspace.crimes()."
        )
    if table is None:
        return pd.Series(1.0, index=crimes.index, name=HARM, dtype=float)
    types = crimes[CRIME_TYPE]
    if isinstance(types.dtype, pd.CategoricalDtype):  # weigh each category once
        weights = np.array([table.weights.get(c, np.nan) for c in types.cat.categories], dtype=float)
        codes = types.cat.codes.to_numpy()
        harm = pd.Series(np.where(codes >= 0, weights[codes], np.nan), index=crimes.index, dtype=float)
    else:
        harm = types.map(table.weights).astype(float)
    unmatched = harm.isna()
    if unmatched.any():
        counts = types[unmatched].astype(object).fillna("<blank>").astype(str).value_counts()
        listed = ", ".join(f"{t!r} ({n} rows)" for t, n in counts.items())
        raise InputError(
            f"harm table {table.name!r} has no weight for crime type(s) {listed}. Add a row for each to a "
            "copy of the table and pass its path, or filter those crimes out first."
        )
    return harm.rename(HARM)


def _parse_flags(raw: pd.Series, types: pd.Series, label: str) -> pd.Series:
    lowered = raw.astype(str).str.strip().str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        received = ", ".join(f"{t}={v!r}" for t, v in zip(types[bad], raw[bad], strict=True))
        raise InputError(
            f"serious-violence table {label} has value(s) that are not True/False: {received}. "
            "Write True or False."
        )
    return lowered.isin(_TRUE)


def serious_violence_types(path: str | Path | None = None) -> frozenset[str]:
    """Return the crime types counted as serious violence.

    Parameters
    ----------
    path : str, pathlib.Path or None
        A CSV with columns ``crime_type, serious_violence, source``; ``None`` uses the bundled
        police.uk proxy (Violence and sexual offences, Robbery, Possession of weapons; see docs/domain.md).

    Returns
    -------
    frozenset of str

    Examples
    --------
    >>> sorted(serious_violence_types())
    ['Possession of weapons', 'Robbery', 'Violence and sexual offences']
    """
    if path is None:
        data = _tables_dir().joinpath("serious_violence.csv").read_bytes()
        label = "'serious_violence'"
    else:
        file = Path(path).expanduser()
        if not file.is_file():
            raise InputError(
                f"serious-violence table {str(path)!r} does not exist. Pass the path of a CSV with "
                "columns crime_type,serious_violence,source, or None for the police.uk proxy."
            )
        data = file.read_bytes()
        label = repr(str(file))
    frame = _read_csv_bytes(data, label)
    missing = [c for c in (CRIME_TYPE, "serious_violence", "source") if c not in frame.columns]
    if missing:
        raise InputError(
            f"serious-violence table {label} lacks column(s) {', '.join(missing)}; received columns "
            f"{', '.join(frame.columns)}. It needs the header crime_type,serious_violence,source."
        )
    types = frame[CRIME_TYPE].astype(str).str.strip()
    _check_crime_types(types, label)
    flags = _parse_flags(frame["serious_violence"], types, label)
    return frozenset(types[flags.to_numpy()])
