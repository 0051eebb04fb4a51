"""Split a Grip pot across forces or areas by serious-violence harm, with reasons and sensitivity.

``harm_by`` sums serious-violence harm per force (police.uk "Falls within") or per local authority
within a force over the ``last`` months of data; ``allocate`` turns it into money with
:func:`gripkit.funding.split.split_pot` and stores the :class:`Allocation` (kind ``"allocation"``)
in the workspace; ``sensitivity`` shows how shares move under another harm table or window.

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
>>> result = allocate(ws, pot=4_000_000, by="area", last=1)
>>> sorted(result.table["area_id"])
['Bedford', 'Central Bedfordshire', 'Luton']
>>> float(round(result.table["allocation"].sum(), 2))
4000000.0
>>> ws.latest_result("allocation").summary == result.summary()
True
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from gripkit import columns as C
from gripkit import datasets
from gripkit.coverage import check_window
from gripkit.errors import InputError
from gripkit.funding.split import split_pot
from gripkit.harm import apply_harm, load_harm_table, serious_violence_types
from gripkit.months import trailing_window
from gripkit.results import ResultMixin, to_jsonable
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
    given), else from the bundled England and Wales LSOAs (of ``force`` when given). The
    " UA" (unitary authority) suffix of ``lad11nm`` is dropped: "Luton UA" -> "Luton".
    """
    if boundaries is None:
        frame = datasets.lsoa_2011(force)
    else:
        import pyogrio

        frame = pyogrio.read_dataframe(boundaries, read_geometry=False)
        if force is not None and "police_force" in frame.columns:
            frame = frame[frame["police_force"].astype(str).str.casefold() == force.casefold()]
    if "lad11nm" not in frame.columns:
        return {}
    pairs = zip(frame["lsoa11cd"], frame["lad11nm"], strict=True)
    return {str(k): _LA_SUFFIX.sub("", str(v)) for k, v in pairs}


def harm_by(
    ws: Workspace,
    by: str = "force",
    *,
    harm: str | Path | None = C.DEFAULT_HARM_TABLE,
    last: int = 12,
    offset: int = 0,
    force: str | None = None,
    sv_table: str | Path | None = None,
    boundaries: str | Path | None = None,
    allow_gaps: bool = False,
    exclude_forces: tuple[str, ...] | list[str] = (),
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Serious-violence harm per force or per local authority over a trailing window of months.

    Parameters
    ----------
    by : {"force", "area"}
        Group by force, or by local authority (within ``force`` if given).
    harm : str, path or None
        Harm table (``cchi``, ``ons_css``, a CSV path; ``"none"`` counts crimes).
    last, offset : int
        The last ``last`` months of the workspace's data, ending ``offset`` months before its newest
        month (:func:`gripkit.months.trailing_window`).
    allow_gaps, exclude_forces
        Coverage (:func:`gripkit.coverage.check_window`): every force (or ``force``) must hold every
        month of the window, else InputError naming it; ``allow_gaps=True`` proceeds with the gaps
        recorded; ``exclude_forces`` leaves forces out (their crimes are not read).

    Returns
    -------
    (pandas.DataFrame, dict)
        ``force`` or ``area_id``, ``crimes``, ``harm`` (by force: every force checked, with zeros for
        a force without serious violence in the window); and the provenance: the window, the harm
        table (name and SHA-256), the ``coverage`` record and, by area, how many crimes took their
        authority from the LSOA lookup, from the LSOA name, or from nowhere.
    """
    one_of("by", by, BY)
    table = load_harm_table(harm)
    first, end = trailing_window(ws, last, offset=offset)
    what = "allocate" + (f" (the window before, for basis='trend', offset={offset})" if offset else "")
    check = check_window(ws, first, end, forces=[force] if force else None, allow_gaps=allow_gaps,
                         what=what, exclude=exclude_forces, window_param="last",
                         exclude_param="exclude_forces")
    types = sorted(serious_violence_types(sv_table))
    crimes = ws.crimes(crime_types=types, months=(first, end), force=force)
    crimes = crimes[crimes[C.FORCE].isin(list(check.forces))].reset_index(drop=True)
    if crimes.empty:
        raise InputError(
            f"no serious-violence crimes in the window {first:%Y-%m} to {end:%Y-%m} (force "
            f"{force or 'all'}). Ingest more months or shorten the window (last={last}, offset={offset})."
        )
    crimes[C.HARM] = apply_harm(crimes, table)
    key = C.FORCE if by == "force" else C.AREA_ID
    info: dict[str, Any] = {
        "window": {"first": f"{first:%Y-%m}", "last": f"{end:%Y-%m}"},
        "months": f"{first:%Y-%m} to {end:%Y-%m}",
        "harm_table": table.name if table else None,
        "harm_sha256": table.sha256 if table else None,
        "last": last,
        "coverage": check.to_dict(),
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
        info.update(
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
            info["authority_from_lookup"], info["authority_from_lsoa_name"],
            info["outside_force_authorities"], info["no_authority"],
        )
    out = (
        crimes.dropna(subset=[key]).groupby(key)[C.HARM].agg(crimes="size", harm="sum").reset_index()
        .sort_values(key, kind="mergesort").reset_index(drop=True)
    )
    if by == "force":  # every force checked is a recipient, with zeros if it has no serious violence
        missing = sorted(set(check.forces) - set(out[key]))
        if missing:
            zeros = pd.DataFrame({key: missing, C.CRIMES: 0, C.HARM: 0.0})
            out = pd.concat([out, zeros], ignore_index=True).sort_values(key, kind="mergesort")
            out = out.reset_index(drop=True)
    return out, info


def _money(amount: float) -> str:
    """``4000000`` -> ``"£4,000,000"``; ``1554343.55`` -> ``"£1,554,343.55"``."""
    return f"£{amount:,.0f}" if float(amount) == round(float(amount)) else f"£{amount:,.2f}"


@dataclass
class Allocation(ResultMixin):
    """An allocation table with its provenance (and, when asked, its sensitivity table).

    Attributes
    ----------
    table : pandas.DataFrame
        ``force`` or ``area_id``, ``crimes``, ``harm``, ``growth``, ``need``, ``score``, ``share``,
        ``allocation``, ``binding``, ``reason``: allocations in pounds to the penny, summing exactly
        to the pot, largest first.
    meta : dict
        Pot, recipients (``by``), basis, floor, cap, ``last`` and the ``window`` of months, harm
        table name and SHA-256, force, need weights, boundaries, and the sensitivity alternatives.
    settings : dict
        The keyword arguments of :func:`allocate` (an alternative changes some of them).
    sensitivity : pandas.DataFrame or None
        Shares under the alternatives (see :func:`sensitivity`), when ``allocate(sensitivity=...)``.
    """

    kind: ClassVar[str] = "allocation"
    table: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    sensitivity: pd.DataFrame | None = None

    @property
    def key(self) -> str:
        """The recipient column: ``force`` or ``area_id``."""
        return str(self.table.columns[0])

    def to_dict(self) -> dict[str, Any]:
        """``meta``, the total, the allocation records and the sensitivity records (None if not run)."""
        out = to_jsonable({
            "meta": self.meta,
            "pot": self.meta.get("pot"),
            "total": round(float(self.table["allocation"].sum()), 2),
            "recipients": len(self.table),
            "allocation": self.table,
            "sensitivity": self.sensitivity,
        })
        assert isinstance(out, dict)
        return out

    def summary(self) -> str:
        """One paragraph: the pot, each recipient's money, the basis and window, and the sensitivity.

        e.g. "£4,000,000 split by area: Luton £1,554,343.55, Central Bedfordshire £1,253,759.34,
        Bedford £1,191,897.11, in proportion to serious-violence harm (cchi, 2023-05 to 2024-04)."
        """
        meta = self.meta
        pot = meta.get("pot", float(self.table["allocation"].sum()))
        names = self.table[self.key].astype(str).tolist()
        money = self.table["allocation"].to_numpy(dtype=float)
        parts = [f"{name} {_money(amount)}" for name, amount in zip(names, money, strict=True)]
        shown = parts if len(parts) <= 10 else [*parts[:10], f"and {len(parts) - 10} more"]
        harm = meta.get("harm_table")
        basis = "serious-violence harm" if harm else "serious-violence crimes"
        if meta.get("basis", "level") == "trend":
            basis += " times its growth on the window before"
        window = ", ".join(str(v) for v in (harm, meta.get("months")) if v)
        text = (
            f"{_money(pot)} split by {meta.get('by', self.key)}: {', '.join(shown)}, in proportion to "
            f"{basis}" + (f" ({window})" if window else "")
        )
        if meta.get("need"):
            text += " times need weights"
        words = {"floor": "raised to the floor", "cap": "cut to the cap"}
        binding = self.table["binding"].tolist() if "binding" in self.table.columns else [""] * len(names)
        bound = [f"{name} {words[b]}" for name, b in zip(names, binding, strict=True) if b in words]
        if bound:
            text += "; " + ", ".join(bound)
        text += "." + _coverage_sentences(self.table, self.key, meta)
        if self.sensitivity is not None:
            moves = [c for c in self.sensitivity.columns if str(c).startswith("change_pp_")]
            if moves:
                text += " Sensitivity: " + "; ".join(
                    f"under {str(c)[len('change_pp_'):]} shares move by at most "
                    f"{float(self.sensitivity[c].abs().max()):.1f} percentage points"
                    for c in moves
                ) + "."
        return text

    def tables(self) -> dict[str, pd.DataFrame]:
        """``"allocation"``, and ``"sensitivity"`` when it was computed."""
        out = {"allocation": self.table}
        if self.sensitivity is not None:
            out["sensitivity"] = self.sensitivity
        return out


def _coverage_sentences(table: pd.DataFrame, key: str, meta: Mapping[str, Any]) -> str:
    """" X gets nothing: no data in ...", partly held windows and exclusions, as sentences ("" if none)."""
    if "reason" not in table.columns or "months_missing" not in table.columns:
        return ""
    window = (meta.get("coverage") or {}).get("window", meta.get("months"))
    reasons = table["reason"].astype(str)
    names = table[key].astype(str)
    text = ""
    empty = names[reasons.str.startswith("no data in the window")].tolist()
    if empty:
        text += (f" {', '.join(empty)} {'gets' if len(empty) == 1 else 'get'} nothing: no data in "
                 f"{window} (allowed with allow_gaps).")
    partial = table[(table["months_missing"].astype(str) != "") & (table["allocation"] > 0)]
    if len(partial):
        text += " Allocated on part of the window (allowed with allow_gaps): " + "; ".join(
            f"{name} holds {int(held)} months, missing {runs}"
            for name, held, runs in zip(partial[key], partial["months_held"], partial["months_missing"],
                                        strict=True)
        ) + "."
    excluded = names[reasons == "excluded on request"].tolist()
    if excluded:
        text += f" Excluded on request: {', '.join(excluded)}."
    elif meta.get("exclude_forces") and meta.get("by") == "area":
        text += f" Excluded on request: {', '.join(map(str, meta['exclude_forces']))}."
    return text


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
    harm: str | Path | None = C.DEFAULT_HARM_TABLE,
    last: int = 12,
    force: str | None = None,
    floor: float = 0.0,
    cap: float | None = None,
    need: pd.Series | None = None,
    boundaries: str | Path | None = None,
    sensitivity: Mapping[str, Mapping[str, Any]] | None = None,
    allow_gaps: bool = False,
    exclude_forces: tuple[str, ...] | list[str] = (),
    store: bool = True,
) -> Allocation:
    """Split ``pot`` across forces or areas by serious-violence harm, and store the allocation.

    Parameters
    ----------
    pot : float
        Pounds (> 0).
    by : {"force", "area"}
        Recipients: forces in the workspace, or local authorities (within ``force``).
    basis : {"level", "trend"}
        ``level``: score = harm in the last ``last`` months. ``trend``: score = that harm × growth,
        where growth = harm in the last ``last`` months / harm in the ``last`` months before (needs
        twice the data).
    harm : str, path or None
        Harm table: ``cchi`` (default), ``ons_css``, a CSV path, or ``"none"`` (count crimes).
    last : int, default 12
        The trailing window: the last ``last`` months of the workspace's data
        (:func:`gripkit.months.trailing_window`).
    floor, cap : float
        Minimum and maximum per recipient, in pounds.
    need : pandas.Series, optional
        Weight per recipient (e.g. a deprivation index); score is multiplied by it.
    sensitivity : dict, optional
        Label -> settings to change, e.g. ``{"ons_css": {"harm": "ons_css"}, "6m": {"last": 6}}``:
        the shares under each, next to this allocation's (:func:`sensitivity`), kept as
        :attr:`Allocation.sensitivity` and stored with it.
    allow_gaps : bool, default False
        Every force (or ``force``) must hold every month of the window (and, for ``trend``, of the
        window before): a force missing months is an InputError naming it, its months and the window
        (:func:`gripkit.coverage.check_window`), as missing months would count as zero crime. True:
        proceed; a force holding none of the window is listed with £0 and its reason, one holding
        part of it is allocated on the months it holds, flagged in ``months_missing``, the summary
        and ``meta["coverage"]``.
    exclude_forces : sequence of str
        Forces to leave out on purpose; by force, each is listed with £0 and the reason.
    store : bool, default True
        Store the allocation in ``ws`` (:meth:`~gripkit.workspace.Workspace.save_result`), for the
        report and the dashboard.
    """
    one_of("basis", basis, BASIS)
    if not pot > 0:
        raise InputError(f"'pot' must be a positive amount; received {pot!r}. Pass e.g. 4000000.")
    current, info = harm_by(ws, by, harm=harm, last=last, force=force, boundaries=boundaries,
                            allow_gaps=allow_gaps, exclude_forces=tuple(exclude_forces))
    key = current.columns[0]
    check = _check_of(info["coverage"])
    others = _check_of(info["coverage"], "excluded_forces")
    held = _months_held(current[key], by, check, force)
    empty = held == 0  # recipients holding none of the window (only with allow_gaps): £0, listed
    left_out = current[empty.to_numpy()].reset_index(drop=True)
    current = current[~empty.to_numpy()].reset_index(drop=True)
    if current.empty:
        raise InputError("no serious-violence crimes to allocate by; check the workspace and 'force'.")
    score = current[C.HARM].astype(float)
    growth = pd.Series(1.0, index=current.index)
    if basis == "trend":
        before, before_info = harm_by(ws, by, harm=harm, last=last, offset=last, force=force,
                                      boundaries=boundaries, allow_gaps=allow_gaps,
                                      exclude_forces=tuple(exclude_forces))
        info["coverage_before"] = before_info["coverage"]
        previous = current[key].map(before.set_index(key)[C.HARM]).astype(float)
        if (previous.fillna(0) <= 0).any():
            names = current.loc[previous.fillna(0) <= 0, key].tolist()
            raise InputError(
                f"no harm in the previous window for {names[:5]}; the trend is undefined. Use basis='level'."
            )
        growth = current[C.HARM] / previous
        score = score * growth
    weights = _need(current[key].astype(str), need)
    score = score * weights
    split = split_pot(pd.Series(score.to_numpy(), index=current[key].astype(str)), pot, floor=floor, cap=cap)
    table = pd.DataFrame(
        {
            key: current[key].astype(str),
            C.CRIMES: current[C.CRIMES],
            C.HARM: current[C.HARM],
            "growth": growth,
            "need": weights,
            "score": split["score"],
            "share": split["share"],
            "allocation": split["allocation"],
            "binding": split["binding"],
        }
    )
    table["reason"] = [_reason(row, basis, need is not None) for row in table.itertuples(index=False)]
    table = _with_coverage(table, key, by, check, force)
    table = table.sort_values("allocation", ascending=False, kind="mergesort").reset_index(drop=True)
    table = pd.concat([table, _unallocated(left_out, key, by, check, force, others)],
                      ignore_index=True) if len(left_out) or (exclude_forces and by == "force") else table
    meta: dict[str, Any] = {
        "pot": pot, "by": by, "basis": basis, "floor": floor, "cap": cap, "force": force,
        "allow_gaps": allow_gaps, "exclude_forces": list(exclude_forces),
        **info,
        "need": None if need is None else {str(k): float(v) for k, v in need.items()},
        "boundaries": None if boundaries is None else str(boundaries),
        "workspace": ws.path,
    }
    settings = {
        "pot": pot, "by": by, "basis": basis, "harm": harm, "last": last, "force": force,
        "floor": floor, "cap": cap, "need": need, "boundaries": boundaries,
        "allow_gaps": allow_gaps, "exclude_forces": tuple(exclude_forces),
    }
    result = Allocation(table, meta, settings)
    if sensitivity:
        result.sensitivity = _shares_under(ws, result, sensitivity)
        result.meta["sensitivity"] = {str(k): dict(v) for k, v in sensitivity.items()}
    if store:
        ws.save_result(result)
    return result


def _check_of(record: dict[str, Any], part: str = "forces") -> dict[str, dict[str, Any]]:
    """The per-force part of a coverage record (``CoverageCheck.to_dict()["forces"]``)."""
    forces = record.get(part, {})
    return forces if isinstance(forces, dict) else {}


def _force_of(name: str, by: str, check: dict[str, dict[str, Any]], force: str | None) -> str | None:
    """The force whose coverage applies to a recipient: itself by force; by area, ``force`` or the one
    force checked (None when areas of several forces mix)."""
    if by == "force":
        return name
    if force is not None:
        return force
    return next(iter(check)) if len(check) == 1 else None


def _months_held(names: pd.Series, by: str, check: dict[str, dict[str, Any]], force: str | None) -> pd.Series:
    """Months of the window each recipient's force holds (by area over several forces: the fewest)."""
    fewest = min((int(c["months_held"]) for c in check.values()), default=0)
    values = []
    for name in names.astype(str):
        owner = _force_of(name, by, check, force)
        values.append(int(check[owner]["months_held"]) if owner in check else fewest)
    return pd.Series(values, index=names.index, dtype="int64")


def _with_coverage(
    table: pd.DataFrame, key: str, by: str, check: dict[str, dict[str, Any]], force: str | None
) -> pd.DataFrame:
    """Add ``months_held`` and ``months_missing`` (runs, "" if none) per recipient; flag the reason."""
    out = table.copy()
    out["months_held"] = _months_held(out[key], by, check, force).to_numpy()
    missing = []
    for name in out[key].astype(str):
        owner = _force_of(name, by, check, force)
        owners = [owner] if owner in check else list(check)
        runs = [str(check[f]["missing"]) for f in owners if check[f]["missing"]]
        missing.append("; ".join(runs))
    out["months_missing"] = missing
    gap = out["months_missing"] != ""
    out.loc[gap, "reason"] = [
        f"{reason}; window only partly held (missing {runs}, allowed with allow_gaps)"
        for reason, runs in zip(out.loc[gap, "reason"], out.loc[gap, "months_missing"], strict=True)
    ]
    return out


def _unallocated(
    left_out: pd.DataFrame,
    key: str,
    by: str,
    check: dict[str, dict[str, Any]],
    force: str | None,
    excluded: dict[str, dict[str, Any]],
) -> pd.DataFrame:
    """Recipients given £0, with their reason: no data in the window (allowed), or excluded."""
    rows = []
    for name in left_out[key].astype(str):
        cov = check.get(_force_of(name, by, check, force) or "", {})
        rows.append({key: name, "months_held": 0, "months_missing": str(cov.get("missing", "")),
                     "reason": f"no data in the window (missing {cov.get('missing', 'all')}; its data covers "
                               f"{cov.get('data', 'none')}), allowed with allow_gaps: not allocated"})
    if by == "force":
        rows += [{key: name, "months_held": int(cov["months_held"]), "months_missing": str(cov["missing"]),
                  "reason": "excluded on request"} for name, cov in excluded.items()]
    frame = pd.DataFrame(rows)
    for name, value in ((C.CRIMES, 0), (C.HARM, 0.0), ("growth", float("nan")), ("need", float("nan")),
                        ("score", 0.0), ("share", 0.0), ("allocation", 0.0), ("binding", "")):
        frame[name] = value
    return frame


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
    alternatives: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """Shares under alternative settings next to the base allocation (nothing is stored).

    Parameters
    ----------
    base : Allocation
        From :func:`allocate`; its ``settings`` supply everything not changed.
    alternatives : dict
        Label -> keyword arguments of :func:`allocate` to change, e.g.
        ``{"ONS CSS": {"harm": "ons_css"}, "6 months": {"last": 6}}``.

    Returns
    -------
    pandas.DataFrame
        Recipient, ``share_base`` and per alternative ``share_<label>`` and
        ``change_pp_<label>`` (percentage points).
    """
    return _shares_under(ws, base, alternatives)


def _shares_under(
    ws: Workspace, base: Allocation, alternatives: Mapping[str, Mapping[str, Any]]
) -> pd.DataFrame:
    key = base.key
    out = base.table[[key, "share"]].rename(columns={"share": "share_base"})
    for label, change in alternatives.items():
        settings = {**base.settings, **change, "sensitivity": None, "store": False}
        other = allocate(ws, **settings).table.set_index(key)["share"]
        out[f"share_{label}"] = out[key].map(other).fillna(0.0)
        out[f"change_pp_{label}"] = (out[f"share_{label}"] - out["share_base"]) * 100
    return out
