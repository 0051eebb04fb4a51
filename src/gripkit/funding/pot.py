"""Split a Grip pot across forces or areas by serious-violence harm, with reasons and sensitivity.

``harm_by`` sums serious-violence harm per force (police.uk "Falls within") or per local authority
within a force over the last ``months`` of data; ``allocate`` turns it into money with
:func:`gripkit.funding.split.split_pot`; ``sensitivity`` shows how shares move under another harm
table or window.

Local authorities come from the LSOA lookup ``lsoa11cd -> lad11nm`` (the bundled Bedfordshire
LSOAs, or a boundary file such as ``lsoa_2011_ew.gpkg``); LSOA codes the lookup does not know (the
2021 codes police.uk switched to) take the authority from the published LSOA name, whose stem is
the authority ("Luton 001A" -> "Luton").

Examples
--------
>>> from gripkit import Workspace, datasets
>>> from gripkit.ingestion import ingest
>>> ws = Workspace(":memory:")
>>> _ = ingest(datasets.bedfordshire_street_files()[-1:], ws)
>>> result = allocate(ws, pot=4_000_000, by="area", months=1)
>>> sorted(result.table["area_id"])
['Bedford', 'Central Bedfordshire', 'Luton']
>>> float(round(result.table["allocation"].sum(), 2))
4000000.0
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gripkit import columns as C
from gripkit import datasets
from gripkit.errors import InputError
from gripkit.funding.split import split_pot
from gripkit.harm import apply_harm, load_harm_table, serious_violence_types
from gripkit.validate import one_of
from gripkit.workspace import Workspace

log = logging.getLogger("gripkit")
BY = ("force", "area")
BASIS = ("level", "trend")
_LSOA_SUFFIX = re.compile(r"\s+\d{3}[A-Z]$")
_LA_SUFFIX = re.compile(r"\s+UA$")


def authority_from_lsoa_name(name: str | None) -> str | None:
    """The local authority stem of an LSOA name.

    >>> authority_from_lsoa_name("Central Bedfordshire 012C")
    'Central Bedfordshire'
    """
    if name is None or pd.isna(name) or not str(name).strip():
        return None
    return _LSOA_SUFFIX.sub("", str(name).strip())


def lsoa_authorities(boundaries: str | Path | None = None, force: str | None = None) -> dict[str, str]:
    """``lsoa11cd -> local authority`` of one force's LSOAs.

    From a boundary file with ``lsoa11cd, lad11nm, police_force`` (rows of ``force`` only, when
    given), else from the bundled Bedfordshire LSOAs (only for Bedfordshire; empty otherwise). The
    " UA" (unitary authority) suffix of ``lad11nm`` is dropped: "Luton UA" -> "Luton".
    """
    if boundaries is None:
        if force is not None and force != "Bedfordshire":
            return {}
        frame = datasets.bedfordshire_lsoa()
    else:
        import pyogrio

        frame = pyogrio.read_dataframe(boundaries, read_geometry=False)
        if force is not None and "police_force" in frame.columns:
            frame = frame[frame["police_force"].astype(str).str.casefold() == force.casefold()]
    if "lad11nm" not in frame.columns:
        return {}
    pairs = zip(frame["lsoa11cd"], frame["lad11nm"], strict=True)
    return {str(k): _LA_SUFFIX.sub("", str(v)) for k, v in pairs}


def _window(ws: Workspace, months: int, offset: int = 0) -> tuple[pd.Timestamp, pd.Timestamp]:
    row = ws.con.execute("SELECT max(month) FROM crimes").fetchone()
    if not row or row[0] is None:
        raise InputError(
            f"workspace {ws.path} holds no crimes. Ingest police.uk files with `gripkit ingest`."
        )
    end = pd.Timestamp(row[0]) - pd.DateOffset(months=offset)
    return end - pd.DateOffset(months=months - 1), end


def harm_by(
    ws: Workspace,
    by: str = "force",
    *,
    harm: str | Path = "cchi",
    months: int = 12,
    offset: int = 0,
    force: str | None = None,
    sv_table: str | Path | None = None,
    boundaries: str | Path | None = None,
) -> pd.DataFrame:
    """Serious-violence harm per force or per local authority over a window of months.

    Parameters
    ----------
    by : {"force", "area"}
        Group by force, or by local authority (within ``force`` if given).
    months, offset : int
        Window length, ending ``offset`` months before the last month in the workspace.

    Returns
    -------
    pandas.DataFrame
        ``force`` or ``area_id``, ``crimes``, ``harm``; ``attrs`` hold the window, table and the
        number of crimes whose authority came from the lookup / the LSOA name / nowhere.
    """
    one_of("by", by, BY)
    if months < 1:
        raise InputError(f"'months' must be >= 1; received {months}. The default window is 12 months.")
    table = load_harm_table(harm)
    first, last = _window(ws, months, offset)
    types = sorted(serious_violence_types(sv_table))
    crimes = ws.crimes(crime_types=types, months=(first.date(), last.date()), force=force)
    have = ws.con.execute("SELECT min(month) FROM crimes").fetchone()
    if crimes.empty or (have and have[0] is not None and pd.Timestamp(have[0]) > first):
        raise InputError(
            f"the workspace does not cover the window {first:%Y-%m} to {last:%Y-%m} (force {force or 'all'}"
            f"). Ingest more months or shorten the window (months={months}, offset={offset})."
        )
    crimes[C.HARM] = apply_harm(crimes, table)
    key = "force" if by == "force" else "area_id"
    attrs: dict[str, Any] = {
        "window": f"{first:%Y-%m} to {last:%Y-%m}",
        "harm_table": table.describe() if table else "none",
        "months": months,
    }
    if by == "force":
        crimes[key] = crimes[C.FORCE]
    else:
        forces = sorted(crimes[C.FORCE].dropna().unique())
        lookup = lsoa_authorities(boundaries, force or (forces[0] if len(forces) == 1 else None))
        by_code = crimes[C.LSOA_CODE].map(lookup)
        by_name = crimes[C.LSOA_NAME].map(authority_from_lsoa_name)
        crimes[key] = by_code.fillna(by_name)
        outside = crimes[key].notna() & ~crimes[key].isin(set(lookup.values())) if lookup else None
        attrs.update(
            authority_from_lookup=int(by_code.notna().sum()),
            authority_from_lsoa_name=int((by_code.isna() & by_name.notna()).sum()),
            no_authority=int(crimes[key].isna().sum()),
            outside_force_authorities=0 if outside is None else int(outside.sum()),
        )
        if outside is not None:
            crimes.loc[outside, key] = None  # LSOAs of neighbouring authorities are not recipients
        log.info(
            "local authority from the LSOA lookup for %d crimes, from the LSOA name for %d; %d crimes "
            "lie in authorities outside the force and %d have no LSOA (both left out)",
            attrs["authority_from_lookup"], attrs["authority_from_lsoa_name"],
            attrs["outside_force_authorities"], attrs["no_authority"],
        )
    out = (
        crimes.dropna(subset=[key]).groupby(key)[C.HARM].agg(crimes="size", harm="sum").reset_index()
        .sort_values(key, kind="mergesort").reset_index(drop=True)
    )
    out.attrs.update(attrs)
    return out


@dataclass
class Allocation:
    """An allocation table with its provenance.

    Attributes
    ----------
    table : pandas.DataFrame
        ``force`` or ``area_id``, ``harm``, ``need``, ``score``, ``share``, ``allocation``,
        ``reason``: allocations in pounds to the penny, summing exactly to the pot.
    meta : dict
        Pot, basis, window, harm table, floor, cap.
    """

    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def _need(keys: pd.Series, need: pd.Series | None) -> pd.Series:
    if need is None:
        return pd.Series(1.0, index=keys.index)
    weights = need.copy()
    weights.index = weights.index.astype(str)
    missing = sorted(set(keys) - set(weights.index))
    if missing:
        raise InputError(
            f"the need weights lack {len(missing)} recipient(s): {missing[:5]}; they have "
            f"{list(weights.index[:5])}. Give one weight per recipient (the names in the allocation table)."
        )
    values = weights.reindex(keys.to_numpy()).to_numpy(float)
    if (values < 0).any():
        raise InputError("need weights must be >= 0; received negative values.")
    return pd.Series(values, index=keys.index)


def allocate(
    ws: Workspace,
    *,
    pot: float,
    by: str = "force",
    basis: str = "level",
    harm: str | Path = "cchi",
    months: int = 12,
    force: str | None = None,
    floor: float = 0.0,
    cap: float | None = None,
    need: pd.Series | None = None,
    boundaries: str | Path | None = None,
) -> Allocation:
    """Split ``pot`` across forces or areas by serious-violence harm.

    Parameters
    ----------
    pot : float
        Pounds (> 0).
    by : {"force", "area"}
        Recipients: forces in the workspace, or local authorities (within ``force``).
    basis : {"level", "trend"}
        ``level``: score = harm in the last ``months``. ``trend``: score = that harm × growth, where
        growth = harm in the last ``months`` / harm in the ``months`` before (needs twice the data).
    floor, cap : float
        Minimum and maximum per recipient, in pounds.
    need : pandas.Series, optional
        Weight per recipient (e.g. a deprivation index); score is multiplied by it.
    """
    one_of("basis", basis, BASIS)
    if not pot > 0:
        raise InputError(f"'pot' must be a positive amount; received {pot!r}. Pass e.g. 4000000.")
    current = harm_by(ws, by, harm=harm, months=months, force=force, boundaries=boundaries)
    key = current.columns[0]
    if current.empty:
        raise InputError("no serious-violence crimes to allocate by; check the workspace and --force.")
    score = current["harm"].astype(float)
    growth = pd.Series(1.0, index=current.index)
    if basis == "trend":
        before = harm_by(ws, by, harm=harm, months=months, offset=months, force=force, boundaries=boundaries)
        previous = current[key].map(before.set_index(key)["harm"]).astype(float)
        if (previous.fillna(0) <= 0).any():
            names = current.loc[previous.fillna(0) <= 0, key].tolist()
            raise InputError(
                f"no harm in the previous window for {names[:5]}; the trend is undefined. Use basis level."
            )
        growth = current["harm"] / previous
        score = score * growth
    weights = _need(current[key].astype(str), need)
    score = score * weights
    split = split_pot(pd.Series(score.to_numpy(), index=current[key].astype(str)), pot, floor=floor, cap=cap)
    table = pd.DataFrame(
        {
            key: current[key].astype(str),
            "crimes": current["crimes"],
            "harm": current["harm"],
            "growth": growth,
            "need": weights,
            "score": split["score"],
            "share": split["share"],
            "allocation": split["allocation"],
            "binding": split["binding"],
        }
    )
    table["reason"] = [_reason(row, basis, need is not None) for row in table.itertuples(index=False)]
    table = table.sort_values("allocation", ascending=False, kind="mergesort").reset_index(drop=True)
    meta: dict[str, Any] = {"pot": pot, "by": by, "basis": basis, "floor": floor, "cap": cap}
    meta.update({str(k): v for k, v in current.attrs.items()})
    settings = {
        "pot": pot, "by": by, "basis": basis, "harm": harm, "months": months, "force": force,
        "floor": floor, "cap": cap, "need": need, "boundaries": boundaries,
    }
    return Allocation(table, meta, settings)


def _reason(row: Any, basis: str, has_need: bool) -> str:
    parts = [f"harm {row.harm:,.1f} from {row.crimes:,} serious-violence crimes"]
    if basis == "trend":
        parts.append(f"× growth {row.growth:.3f} on the previous window")
    if has_need:
        parts.append(f"× need {row.need:g}")
    text = " ".join(parts) + f" → {row.share:.2%} of the pot"
    if row.binding == "floor":
        text += " (raised to the floor)"
    elif row.binding == "cap":
        text += " (cut to the cap)"
    return text


def sensitivity(
    ws: Workspace,
    base: Allocation,
    alternatives: dict[str, dict[str, Any]],
) -> pd.DataFrame:
    """Shares under alternative settings next to the base allocation.

    Parameters
    ----------
    base : Allocation
        From :func:`allocate`; its ``settings`` supply everything not changed.
    alternatives : dict
        Label -> keyword arguments of :func:`allocate` to change, e.g.
        ``{"ONS CSS": {"harm": "ons_css"}, "6 months": {"months": 6}}``.

    Returns
    -------
    pandas.DataFrame
        Recipient, ``share_base`` and per alternative ``share_<label>`` and
        ``change_pp_<label>`` (percentage points).
    """
    key = base.table.columns[0]
    out = base.table[[key, "share"]].rename(columns={"share": "share_base"})
    for label, change in alternatives.items():
        other = allocate(ws, **{**base.settings, **change}).table.set_index(key)["share"]
        out[f"share_{label}"] = out[key].map(other).fillna(0.0)
        out[f"change_pp_{label}"] = (out[f"share_{label}"] - out["share_base"]) * 100
    return out
