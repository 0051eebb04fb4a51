"""Split a funding pot across forces or areas by serious-violence harm.

Examples
--------
>>> import pandas as pd
>>> split_pot(pd.Series({"A": 1.0, "B": 1.0}), 10.0)["allocation"].tolist()
[5.0, 5.0]
"""

from gripkit.funding.pot import Allocation, allocate, authority_from_lsoa_name, harm_by, sensitivity
from gripkit.funding.split import largest_remainder_pennies, split_pot

__all__ = [
    "Allocation",
    "allocate",
    "authority_from_lsoa_name",
    "harm_by",
    "largest_remainder_pennies",
    "sensitivity",
    "split_pot",
]
