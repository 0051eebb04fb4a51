"""A hotspot layer for sharing with partners: small numbers suppressed (``gripkit hotspots --share``).

Counts from 1 to 4 (below :data:`~gripkit.output.SMALL_NUMBER_THRESHOLD`, 5) are shown as ``"<5"``
(:func:`gripkit.output.suppress_small`); in those rows the values that would give the count back
are blanked (harm, the share of harm, the KDE density for ``crimes``; ``hidden_share`` for
``ed_only``), and ``cumulative_share`` is left out (the difference of two rows is a unit's share).
Zeros and counts of 5 or more are shown. Ranks, geometry, labels and Gi* statistics are kept.
"""

from __future__ import annotations

import pandas as pd

from gripkit import columns as C
from gripkit.hotspots.combined import ED_ONLY_COUNT, HIDDEN_SHARE
from gripkit.output import SMALL_NUMBER_THRESHOLD, suppress_small

#: count column -> the columns that would reveal it
COUNTS: dict[str, tuple[str, ...]] = {
    C.CRIMES: (C.HARM, C.SHARE_OF_HARM, "density", "density_share"),
    ED_ONLY_COUNT: (HIDDEN_SHARE,),
}
DROPPED: tuple[str, ...] = (C.CUMULATIVE_SHARE,)


def shared_layer(layer: pd.DataFrame, threshold: int = SMALL_NUMBER_THRESHOLD) -> pd.DataFrame:
    """``layer`` (a hotspot layer or its top rows) with small numbers suppressed; not modified.

    Examples
    --------
    >>> layer = pd.DataFrame({"unit_id": ["a", "b"], "crimes": [9, 2], "harm": [9.0, 2.0],
    ...                       "share_of_harm": [9 / 11, 2 / 11], "cumulative_share": [9 / 11, 1.0]})
    >>> shared_layer(layer).values.tolist()
    [['a', '9', 9.0, 0.8181818181818182], ['b', '<5', None, None]]
    """
    return suppress_small(layer, COUNTS, threshold=threshold, drop=DROPPED)
