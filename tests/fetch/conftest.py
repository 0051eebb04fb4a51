"""Archives and API answers for the fetch tests, built once per session from the real Bedfordshire zip."""

from __future__ import annotations

import functools
import io
import zipfile

import pytest
from tests.conftest import DATA, need_data
from tests.fetch.server import crimes_json, stops_json

ZIP = ("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
BOUNDARY = ("boundaries", "police_force_areas_ew.gpkg")
DECOY_MONTHS = ("2024-02", "2024-03", "2024-04")


@functools.cache
def members() -> dict[str, bytes]:
    """``YYYY-MM/YYYY-MM-bedfordshire-<kind>.csv -> bytes`` of the real zip."""
    with zipfile.ZipFile(need_data(DATA.joinpath(*ZIP))) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith(".csv")}


@functools.cache
def build_archive(end: str, leave_out: tuple[str, ...] = ()) -> bytes:
    """police.uk's ``end.zip``: its 36 months for every force (here Bedfordshire and a decoy)."""
    from gripkit.fetch.archive import covers

    months = set(covers(end))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in sorted(members().items()):
            month = name.split("/")[0]
            if month in months and name not in leave_out:
                zf.writestr(name, data)
                if month in DECOY_MONTHS and name.endswith("street.csv"):
                    zf.writestr(name.replace("bedfordshire", "decoyshire"), data[:4000])
    return out.getvalue()


def api_month(month: str) -> tuple[list[dict], list[dict]]:
    base = f"{month}/{month}-bedfordshire"
    return (crimes_json(members()[f"{base}-street.csv"].decode()),
            stops_json(members()[f"{base}-stop-and-search.csv"].decode()))


@pytest.fixture(scope="session")
def boundary():
    """Bedfordshire's polygon in lon/lat, as gripkit.fetch loads it from the ONS force areas."""
    from gripkit.fetch.job import load_boundary

    return load_boundary(need_data(DATA.joinpath(*BOUNDARY)), "Bedfordshire")
