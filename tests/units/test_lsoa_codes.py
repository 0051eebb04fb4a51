"""LSOA codes given as a categorical column (as the national run reads them) assign as text does.

Codes are cleaned once per distinct value; the expected ids are by hand: codes are stripped,
blank or missing codes have no unit, and a code that is not a unit is unmatched.
"""

from __future__ import annotations

import pandas as pd

from gripkit.hotspots.count import count
from gripkit.units import LsoaUnits

CODES = [" E01 ", "E01", "", None, "E02", "X", "E02"]


def test_categorical_codes_assign_as_text() -> None:
    text = pd.DataFrame({"lsoa_code": pd.array(CODES, dtype=object)}, index=[7, 3, 5, 1, 0, 2, 9])
    categorical = text.astype({"lsoa_code": pd.CategoricalDtype([" E01 ", "E01", "", "E02", "X", "unused"])})
    by_text, by_category = LsoaUnits(codes=["E01", "E02"]), LsoaUnits(codes=["E01", "E02"])
    ids = by_text.assign(text)
    assert ids.fillna("<NA>").tolist() == ["E01", "E01", "<NA>", "<NA>", "E02", "<NA>", "E02"]
    pd.testing.assert_series_equal(by_category.assign(categorical), ids)
    assert by_text.last_assignment == by_category.last_assignment
    assert by_text.last_assignment is not None
    # 4 matched; X unmatched; the blank and the missing code have none
    keys = ("matched", "unmatched", "no_code", "unmatched_codes")
    assert {k: by_text.last_assignment[k] for k in keys} == {
        "matched": 4, "unmatched": 1, "no_code": 2, "unmatched_codes": ["X"]
    }
    pd.testing.assert_frame_equal(count(categorical, by_category), count(text, by_text))


def test_units_from_categorical_codes_ignore_unused_categories() -> None:
    crimes = pd.DataFrame({"lsoa_code": pd.Categorical(["E02", "E01 "], categories=["E01 ", "E02", "E03"])})
    assert LsoaUnits.from_crimes(crimes).frame["unit_id"].tolist() == ["E01", "E02"]


def test_numeric_codes_are_cleaned_one_by_one() -> None:
    # 1 and 1.0 are one key when hashed but two codes as text: "1" and "1.0"
    crimes = pd.DataFrame({"lsoa_code": pd.Series([1, "1", 1.0, " 2 "], dtype=object)})
    assert LsoaUnits.from_crimes(crimes).frame["unit_id"].tolist() == ["1", "1.0", "2"]
