"""The option catalogue: one spelling and one meaning per flag across every command.

* ``-o/--out``        where a command writes its main output;
* ``--months FROM..TO`` an explicit window of months; ``--last N`` a trailing one (no command takes
  ``--months N``);
* ``--harm``          the harm table (``cchi`` by default everywhere, ``ons_css``, a CSV, or ``none``);
* ``--force``         the force whose crimes are read;
* ``--boundaries``    your own LSOA polygon file (default: the bundled LSOA 2011 polygons of the crimes'
  forces, every force of England and Wales);
* ``--alpha``         a significance level only (``--dispersion`` is the negative-binomial parameter);
* ``--json``          one JSON object on stdout and nothing else;
* ``--exclude-force FORCE`` leave a force out of a computation over a window (named as excluded;
  ``gripkit plan --exclude`` is about areas);
* ``--allow-gaps``    proceed when a force misses months of the window, the gaps flagged in the output;
* ``--per-force``     harm weights derived from each force's own offence mix (``per_force=True``);
* ``--source``        record sources read: police, health, a partner, several comma-separated, or
  ``all`` (combined; the default);
* ``--plan ID``       a stored patrol plan (default: the latest);
* ``--roads FILE``    road lines (OpenStreetMap or OS .gpkg/.shp) drawn on static maps;
* ``--tiles URL``     a tile URL template ({z}/{x}/{y}) under the maps: ``gripkit serve``'s meaning; static
  maps default to none (offline);
* ``-w/--workspace``  the DuckDB workspace.

Library errors name Python parameters (``'cell_size'``); :func:`flag_message` turns them into the
command's flags (``--cell-size``) when the CLI prints them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from gripkit.columns import DEFAULT_HARM_TABLE

OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output file (its extension picks the format).")]
OptionalOutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Output file (its extension picks the format).")
]
MonthsOption = Annotated[
    str | None, typer.Option("--months", help="Window FROM..TO, e.g. 2023-05..2024-04 (or one month).")
]
LastOption = Annotated[
    int | None, typer.Option("--last", help="Trailing window: the last N months of data.", min=1)
]
HarmOption = Annotated[
    str, typer.Option("--harm", help="Harm table: cchi, ons_css, a CSV path, or none (count crimes).")
]
ForceOption = Annotated[
    str | None, typer.Option("--force", help="Only this force's crimes, e.g. Bedfordshire [default: all].")
]
BoundariesOption = Annotated[
    Path | None,
    typer.Option(
        "--boundaries",
        help="Your own LSOA polygon file (lsoa11cd; lad11nm, police_force if any), e.g. lsoa_2011_ew.gpkg "
        "[default: the bundled LSOA 2011 polygons of the crimes' force].",
    ),
]
AlphaOption = Annotated[float, typer.Option("--alpha", help="Significance level.", min=0.0, max=1.0)]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Random seed [default: drawn and reported].")]
ExcludeForceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-force", help="Leave this force out, named in the output (repeatable).", metavar="FORCE"
    ),
]
AllowGapsOption = Annotated[
    bool,
    typer.Option("--allow-gaps", help="Proceed when a force misses months of the window (flagged)."),
]
PlanOption = Annotated[int | None, typer.Option("--plan", help="Plan id [default: the latest].")]
RoadsOption = Annotated[
    Path | None,
    typer.Option(
        "--roads", help="Road lines (OSM or OS .gpkg) drawn on the static maps, under the hotspots."
    ),
]
StaticTilesOption = Annotated[
    str | None,
    typer.Option(
        "--tiles",
        help="Tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png, under the static maps "
        "(fetched once; unreachable: left out) [default: none, offline].",
    ),
]
TilesAttributionOption = Annotated[
    str, typer.Option("--tiles-attribution", help="The tile provider's notice, written on the map.")
]
PerForceOption = Annotated[
    bool,
    typer.Option("--per-force", help="Weigh each force's crimes by its own offence mix (cchi, ons_css)."),
]

HARM_DEFAULT = DEFAULT_HARM_TABLE

_QUOTED = re.compile(r"'([a-z][a-z0-9_]*)'")


def flag_message(message: str, flags: dict[str, str]) -> str:
    """Replace quoted Python parameter names in ``message`` by the command's flags.

    >>> flag_message("'cell_size' must be > 0 metres", {"cell_size": "--cell-size"})
    '--cell-size must be > 0 metres'
    """
    return _QUOTED.sub(lambda m: flags.get(m.group(1), m.group(0)), message)


SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Record sources: police, health, a partner, several comma-separated, or all (combined).",
    ),
]


def check_tiles(url: str | None, attribution: str = "") -> None:
    """Refuse a bad ``--tiles`` before any work (the check of ``gripkit serve --tiles``)."""
    if url:
        from gripkit.maptiles.layer import tile_layer

        tile_layer(url, attribution)


def split_list(text: str | None) -> list[str] | None:
    """Comma-separated values, stripped; None when empty."""
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def sources_choice(text: str | None) -> tuple[str, ...] | None:
    """The ``--source`` choice as the library takes it (None: all sources combined).

    >>> sources_choice("police, health"), sources_choice("all")
    (('police', 'health'), None)
    """
    chosen = split_list(text)
    return tuple(chosen) if chosen and chosen != ["all"] else None
