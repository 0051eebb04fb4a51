"""Build the SYNTHETIC hospital ED file beside this script (see README.md): run it to regenerate.

    python tests/ingestion/ed_data/make_ed.py /work/shared/data/postcodes/codepo_gb.zip

No open record-level ED data exists, so the records are made from REAL police.uk violence rows of
Bedfordshire (the bundled May 2023 street file, OGL v3): each of the first rows with coordinates
becomes one ED attendance at the same place, located by a real postcode (the Code-Point Open
postcode centre nearest to it inside the force area), by the coordinates, or by the street name
from a small gazetteer; the day, time and arrival delay are drawn (seeded). A planted set of rows
cannot be placed or is broken, one kind per reason. The plan (how many of each) is :data:`PLAN`,
which the tests read and check against what ingest does.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

HERE = Path(__file__).parent
ED_FILE = HERE / "bedfordshire_ed_synthetic.csv"
GAZETTEER = HERE / "gazetteer.csv"
#: rows of each planted kind, in file order (see README.md)
PLAN: dict[str, int] = {
    "postcode": 90,  # placed: a real Code-Point Open postcode inside Bedfordshire
    "coordinates": 40,  # placed: x/y of the police row
    "gazetteer": 30,  # placed: street name found in the gazetteer (case/punctuation varied)
    "unknown_postcode": 6,  # well-formed postcodes that are not in Code-Point Open
    "bad_postcode": 4,  # not written as a postcode
    "unknown_place": 5,  # a place not in the gazetteer
    "ambiguous_place": 3,  # a name the gazetteer lists at two places
    "no_location": 5,  # nothing to place it by
    "bad_arrival": 3,  # arrival time blank
    "arrival_before_incident": 2,  # arrival before the incident
    "bad_date": 2,  # incident date unreadable
}
PLACED = ("postcode", "coordinates", "gazetteer")
UNKNOWN_POSTCODES = ("LU9 9ZZ", "MK49 9ZZ", "SG99 9QQ", "LU2 9ZZ", "MK40 9ZZ", "SG18 9ZZ")
BAD_POSTCODES = ("LU1", "LU1 1A", "123456", "Luton")
WEAPONS = ("Body part (fist/feet)", "Knife/blade", "Blunt object", "Glass/bottle", "Other", "Not known")
LOCATION_TYPES = ("Street", "Pub/bar/club", "Home", "Other public place", "Shop", "Not known")
AGE_BANDS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55+")


def bedfordshire_postcodes(codepoint: Path) -> pd.DataFrame:
    """Code-Point Open postcodes (with coordinates) whose centre lies inside the Bedfordshire area."""
    from gripkit.datasets import force_area

    area = force_area("Bedfordshire")
    assert area is not None
    frames = []
    with zipfile.ZipFile(codepoint) as archive:
        for code in ("lu", "mk", "sg", "al", "pe", "hp", "nn", "cb"):
            data = archive.read(f"Data/CSV/{code}.csv").decode()
            frames.append(
                pd.read_csv(
                    io.StringIO(data),
                    header=None,
                    usecols=[0, 1, 2, 3],
                    names=["postcode", "quality", "x", "y"],
                )
            )
    pcs = pd.concat(frames, ignore_index=True)
    pcs = pcs[pcs["quality"] != 90]
    return pcs[shapely.contains_xy(area, pcs["x"].to_numpy(), pcs["y"].to_numpy())].reset_index(drop=True)


def police_rows() -> pd.DataFrame:
    """Real violence rows with coordinates of the bundled May 2023 Bedfordshire street file, in BNG."""
    from gripkit import datasets
    from gripkit.ingestion.checks import transformer

    street = pd.read_csv(datasets.bedfordshire_street_files()[0])
    rows = street[(street["Crime type"] == "Violence and sexual offences") & street["Longitude"].notna()]
    rows = rows.reset_index(drop=True)
    x, y = transformer("EPSG:4326").transform(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy())
    return rows.assign(x=np.round(x, 1), y=np.round(y, 1))


def build(codepoint: Path) -> None:
    rng = np.random.default_rng(20230501)
    police = police_rows()
    pcs = bedfordshire_postcodes(codepoint)
    tree = cKDTree(pcs[["x", "y"]].to_numpy())
    # street names at one point only in the month: unambiguous gazetteer entries
    points = police.groupby("Location")[["x", "y"]].nunique()
    single = set(points.index[(points["x"] == 1) & (points["y"] == 1)])
    total = sum(PLAN.values())
    out, gazetteer_rows, used_names = [], [], set()
    i = 0
    for kind, count in PLAN.items():
        for _ in range(count):
            row = police.iloc[i]
            i += 1
            if kind == "gazetteer":
                while row["Location"] not in single or row["Location"] in used_names:
                    row = police.iloc[i]
                    i += 1
            day = int(rng.integers(1, 32))
            minutes = int(rng.choice(np.arange(24 * 60), p=_evening()))
            incident = pd.Timestamp(2023, 5, day) + pd.Timedelta(minutes=minutes)
            delay = float(np.clip(rng.lognormal(np.log(45), 0.8), 10, 720))  # minutes, median 45
            arrival = incident + pd.Timedelta(minutes=round(delay))
            rec = {
                "Attendance ref": f"ED{230500 + len(out) + 1}",
                "NHS Number": f"999 {rng.integers(100, 999)} {rng.integers(1000, 9999)}",  # fake (999 range)
                "Incident date time": incident.strftime("%d/%m/%Y %H:%M"),
                "Arrival date time": arrival.strftime("%d/%m/%Y %H:%M"),
                "Incident postcode": "",
                "Incident location": "",
                "Easting": "",
                "Northing": "",
                "Means of assault": WEAPONS[int(rng.integers(len(WEAPONS)))],
                "Location type": LOCATION_TYPES[int(rng.integers(len(LOCATION_TYPES)))],
                "Age band": AGE_BANDS[int(rng.integers(len(AGE_BANDS)))],
                "Sex": "M" if rng.random() < 0.7 else "F",
                "Planted": kind,
            }
            if kind == "postcode":
                _, j = tree.query([row["x"], row["y"]])
                rec["Incident postcode"] = (
                    str(pcs.at[int(j), "postcode"]).lower()
                    if len(out) % 3 == 0
                    else str(pcs.at[int(j), "postcode"])
                )
            elif kind in ("coordinates", "bad_arrival", "arrival_before_incident", "bad_date"):
                rec["Easting"], rec["Northing"] = f"{row['x']:.1f}", f"{row['y']:.1f}"
            elif kind == "gazetteer":
                name = str(row["Location"]).removeprefix("On or near ")
                used_names.add(row["Location"])
                gazetteer_rows.append((name, row["x"], row["y"]))
                rec["Incident location"] = _vary(name, len(out))
            elif kind == "unknown_postcode":
                rec["Incident postcode"] = UNKNOWN_POSTCODES[len(out) % len(UNKNOWN_POSTCODES)]
            elif kind == "bad_postcode":
                rec["Incident postcode"] = BAD_POSTCODES[len(out) % len(BAD_POSTCODES)]
            elif kind == "unknown_place":
                rec["Incident location"] = f"Nowhere Lane {len(out)}"
            elif kind == "ambiguous_place":
                rec["Incident location"] = "bus station"
            if kind == "bad_arrival":
                rec["Arrival date time"] = ""
            elif kind == "arrival_before_incident":
                rec["Arrival date time"] = (incident - pd.Timedelta(hours=2)).strftime("%d/%m/%Y %H:%M")
            elif kind == "bad_date":
                rec["Incident date time"] = "32/05/2023 25:61"
            out.append(rec)
    assert len(out) == total
    # a name at two places: Luton's and Bedford's bus stations (the Code-Point Open centres of
    # LU1 2TN and MK40 1AA, near each)
    gazetteer_rows += [("Bus Station", 509118.0, 221379.0), ("Bus station", 504435.0, 249554.0)]
    pd.DataFrame(out).to_csv(ED_FILE, index=False, quoting=csv.QUOTE_MINIMAL)
    pd.DataFrame(gazetteer_rows, columns=["name", "x", "y"]).to_csv(GAZETTEER, index=False)


def _evening() -> np.ndarray:
    """Minute-of-day weights peaking late evening (assault attendances do)."""
    minutes = np.arange(24 * 60)
    weight = 1 + 3 * np.exp(-(((minutes - 23 * 60) % (24 * 60) - 0) ** 2) / (2 * 180**2))
    weight += 3 * np.exp(-((minutes - 23 * 60) ** 2) / (2 * 180**2))
    return weight / weight.sum()


def _vary(name: str, n: int) -> str:
    """The street name as a clerk might type it: upper case, lower case, trailing punctuation."""
    return (name.upper(), name.lower() + ",", f"  {name}. ")[n % 3]


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/postcodes/codepo_gb.zip"))
