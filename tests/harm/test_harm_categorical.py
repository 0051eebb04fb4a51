"""Crime types given as a categorical column (as the national run reads them) weigh as text does."""

from __future__ import annotations

import pandas as pd
import pytest

from gripkit.errors import InputError
from gripkit.harm import apply_harm, load_harm_table


def test_categorical_crime_types_weigh_as_text() -> None:
    text = pd.DataFrame({"crime_type": ["Robbery", "Drugs", "Robbery", "Violence and sexual offences"]},
                        index=[5, 1, 9, 3])
    categorical = text.astype({"crime_type": pd.CategoricalDtype(
        ["Drugs", "Robbery", "Shoplifting", "Violence and sexual offences"])})
    table = load_harm_table("cchi_ranges_legacy")
    # the legacy CCHI table (docs/domain.md midpoints): Robbery 365 days, Drugs 3.65, Violence and sexual
    # offences 197
    assert apply_harm(categorical, table).tolist() == [365.0, 3.65, 365.0, 197.0]
    pd.testing.assert_series_equal(apply_harm(categorical, table), apply_harm(text, table))


def test_categorical_type_without_weight_is_an_error() -> None:
    crimes = pd.DataFrame({"crime_type": pd.Categorical(["Robbery", None, "Arson"])})
    with pytest.raises(InputError, match="has no weight for crime type") as error:
        apply_harm(crimes, load_harm_table("cchi"))
    assert "'<blank>' (1 rows)" in str(error.value) and "'Arson' (1 rows)" in str(error.value)
