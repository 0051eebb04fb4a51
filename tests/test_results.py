"""The result protocol (gripkit.results): the registry of kinds, the workspace round trip, to_jsonable.

Expected values are written out by hand in each test: the stored payload must equal what the result's
``to_dict()`` gave, a stored table must equal the frame put in (CRS included), and ``to_jsonable`` is
checked value by value against the JSON it must produce.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gripkit import results
from gripkit.errors import InputError
from gripkit.results import KINDS, ResultMixin, StageResult, to_jsonable
from gripkit.workspace import Workspace

PROTOCOL = ("meta", "to_dict", "summary", "tables")


# ------------------------------------------------------------------------------------- the registry


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_names_a_writer_that_exists(name: str) -> None:
    kind = KINDS[name]
    assert kind.name == name
    writer = kind.writer_class()  # imports "module:Class"; fails if either is missing
    if kind.internal:  # a job's own cache: the writer is the job (a function), which must resolve
        assert callable(writer)
        return
    assert isinstance(writer, type), f"{kind.writer} is not a class"
    written = getattr(writer, "kind", None)
    assert written == name, f"{kind.writer}.kind is {written!r}, not {name!r}"
    # meta is an instance attribute (a dataclass field or set in __init__); the rest are methods
    fields = getattr(writer, "__dataclass_fields__", {})
    annotations: dict[str, Any] = {}
    for klass in reversed(writer.__mro__):
        annotations.update(getattr(klass, "__annotations__", {}))
    assert "meta" in fields or "meta" in annotations, f"{kind.writer} declares no meta"
    for method in ("to_dict", "summary", "tables"):
        assert callable(getattr(writer, method, None)), f"{kind.writer} has no {method}()"


def test_registry_titles_and_internal_kinds() -> None:
    assert all(k.title for k in KINDS.values())
    assert [k.name for k in KINDS.values() if k.internal] == ["national_force"]


def test_check_kind_names_the_choices() -> None:
    assert results.check_kind("hotspots") is KINDS["hotspots"]
    with pytest.raises(InputError, match=r"'kind' must be a stored result kind; received 'dosage'.*hotspots"):
        results.check_kind("dosage")


# ------------------------------------------------------------------------------------- the workspace


@dataclass
class ToyHotspots(ResultMixin):
    """A minimal result of a registered kind: the workspace, not the hotspot code, is under test."""

    kind: ClassVar[str] = "hotspots"
    crimes: int
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"crimes": self.crimes, "share": np.float64(0.255), "months": ["2023-05", "2024-04"]}

    def summary(self) -> str:
        return f"{self.crimes} crimes; 21 LSOAs hold 25.5% of the harm."

    def tables(self) -> dict[str, pd.DataFrame]:
        layer = gpd.GeoDataFrame(
            {"unit_id": ["a", "b"], "harm": [365.0, 0.0]},
            geometry=[shapely.box(0, 0, 150, 150), shapely.box(150, 0, 300, 150)],
            crs="EPSG:27700",
        )
        return {"layer": layer, "top": pd.DataFrame({"unit_id": ["a"], "rank": [1]})}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "w.duckdb")
    yield workspace
    workspace.close()


def test_the_toy_follows_the_protocol() -> None:
    assert isinstance(ToyHotspots(3), StageResult)
    assert ResultMixin.tables(ToyHotspots(3)) == {}  # the mixin's default


def test_latest_result_of_an_unregistered_kind_is_an_error(ws: Workspace) -> None:
    with pytest.raises(InputError, match=r"received 'dosage', which nothing writes"):
        ws.latest_result("dosage")
    assert ws.latest_result("hotspots") is None  # registered, nothing stored yet


def test_save_latest_and_table_round_trip(ws: Workspace) -> None:
    meta = {"harm_table": "cchi", "harm_sha256": "ab" * 32, "months": ("2023-05", "2024-04"), "seed": 7}
    first = ToyHotspots(10, meta=dict(meta))
    second = ToyHotspots(12, meta=dict(meta))
    first_id = ws.save_result(first)
    second_id = ws.save_result(second)
    assert second_id == first_id + 1
    assert first.meta["result_id"] == first_id and second.meta["result_id"] == second_id

    stored = ws.latest_result("hotspots")
    assert stored is not None and stored.result_id == second_id and stored.kind == "hotspots"
    # the payload is to_dict() made JSON-safe; meta keeps provenance (the tuple comes back a list)
    assert stored.payload == {"crimes": 12, "share": 0.255, "months": ["2023-05", "2024-04"]}
    assert stored.meta == {**meta, "months": ["2023-05", "2024-04"]}
    assert stored.params is stored.meta
    assert stored.summary == "12 crimes; 21 LSOAs hold 25.5% of the harm."
    assert stored.table_names == ("layer", "top")
    assert isinstance(stored.created_at, dt.datetime)
    assert ws.stored_result(first_id).payload["crimes"] == 10

    layer = ws.result_table(second_id, "layer")
    assert isinstance(layer, gpd.GeoDataFrame) and layer.crs is not None and layer.crs.to_epsg() == 27700
    expected = second.tables()["layer"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(layer.drop(columns="geometry")), pd.DataFrame(expected.drop(columns="geometry"))
    )
    assert layer.geometry.equals(expected.geometry)
    top = ws.result_table(second_id, "top")
    assert not isinstance(top, gpd.GeoDataFrame)
    pd.testing.assert_frame_equal(top, second.tables()["top"])

    log = ws.results_log()
    assert log["result_id"].tolist() == [first_id, second_id]
    assert log["kind"].tolist() == ["hotspots", "hotspots"]
    assert log["harm_table"].tolist() == ["cchi", "cchi"]
    assert log["summary"].iloc[0] == "10 crimes; 21 LSOAs hold 25.5% of the harm."


def test_missing_results_and_tables_say_so(ws: Workspace) -> None:
    result_id = ws.save_result(ToyHotspots(1))
    message = r"'result_id' must name a stored result; received 999.*`gripkit info`"
    with pytest.raises(InputError, match=message):
        ws.stored_result(999)
    with pytest.raises(InputError, match=rf"result {result_id} has no table 'nope'"):
        ws.result_table(result_id, "nope")


def test_a_result_of_an_unregistered_kind_is_not_saved(ws: Workspace) -> None:
    class Stray(ToyHotspots):
        kind: ClassVar[str] = "dosage"

    with pytest.raises(InputError, match="'dosage'"):
        ws.save_result(Stray(1))
    assert ws.results_log().empty


# ------------------------------------------------------------------------------------- to_jsonable


def test_to_jsonable_by_hand() -> None:
    value = {
        "int64": np.int64(3),
        1: np.float32(0.5),  # keys become strings; float32 0.5 is exact
        "nan": float("nan"),
        "np_nan": np.float64("nan"),
        "inf": np.inf,
        "bool": np.bool_(True),
        "timestamp": pd.Timestamp("2024-05-01 12:30"),
        "nat": pd.NaT,
        "na": pd.NA,
        "none": None,
        "date": dt.date(2024, 5, 1),
        "datetime": dt.datetime(2024, 5, 1, 14, 0, 5),
        "time": dt.time(14, 0),
        "path": Path("/x/y.csv"),
        "set": {3, 1, 2},
        "tuple": (1, np.int32(2)),
        "frame": pd.DataFrame({"x": [1, 2], "y": [np.nan, 2.5]}),
        "series": pd.Series([1.0, np.nan]),
        "array": np.array([1, 2]),
        "nested": {"deep": [np.float64(1.25), {"k": np.int8(-1)}]},
    }
    assert to_jsonable(value) == {
        "int64": 3,
        "1": 0.5,
        "nan": None,
        "np_nan": None,
        "inf": None,
        "bool": True,
        "timestamp": "2024-05-01T12:30:00",
        "nat": None,
        "na": None,
        "none": None,
        "date": "2024-05-01",
        "datetime": "2024-05-01T14:00:05",
        "time": "14:00:00",
        "path": "/x/y.csv",
        "set": [1, 2, 3],
        "tuple": [1, 2],
        "frame": [{"x": 1, "y": None}, {"x": 2, "y": 2.5}],
        "series": [1.0, None],
        "array": [1, 2],
        "nested": {"deep": [1.25, {"k": -1}]},
    }
    out = to_jsonable(value)
    assert json.loads(json.dumps(out, allow_nan=False)) == out  # strict JSON: no NaN tokens
    assert type(out["int64"]) is int and type(out["bool"]) is bool and type(out["1"]) is float


def test_to_jsonable_uses_to_dict_and_falls_back_to_str() -> None:
    class Has:
        def to_dict(self) -> dict[str, Any]:
            return {"n": np.int64(2)}

    assert to_jsonable(Has()) == {"n": 2}
    assert to_jsonable(pd.Period("2024-05", "M")) == "2024-05"
