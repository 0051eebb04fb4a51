"""``gripkit harm list`` and ``gripkit harm show``: the harm tables, their weights and provenance."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gripkit.cli.common import JsonOption, app, console, print_json
from gripkit.cli.options import HARM_DEFAULT, PerForceOption
from gripkit.harm import list_harm_tables, load_harm_table

harm_app = typer.Typer(help="Harm tables: list them or show one.", no_args_is_help=True)
app.add_typer(harm_app, name="harm")


@harm_app.command("list")
def harm_list(json_out: JsonOption = False) -> None:
    """The bundled harm tables."""
    tables = [t for t in map(load_harm_table, list_harm_tables()) if t is not None]
    if json_out:
        print_json(
            {
                "tables": [
                    {
                        "name": t.name,
                        "sha256": t.sha256,
                        "crime_types": len(t.weights),
                        "per_force": t.per_force,
                        "edition": t.edition,
                    }
                    for t in tables
                ]
            }
        )
        return
    for t in tables:
        scope = f"{len(t.force_weights)} forces" if t.per_force else f"{len(t.weights)} crime types"
        console.print(f"{t.name}  sha256 {t.sha256[:12]}  ({scope})  {t.edition}", highlight=False)


@harm_app.command("show")
def harm_show(
    name: Annotated[str, typer.Argument(help="Table name or CSV path.")] = HARM_DEFAULT,
    per_force: PerForceOption = False,
    json_out: JsonOption = False,
) -> None:
    """Weights, source, edition and derivation of one harm table."""
    table = load_harm_table(name, per_force=per_force)
    if json_out:
        print_json({"name": "none", "sha256": None, "weights": None} if table is None else table.to_dict())
        return
    if table is None:
        console.print("harm 'none': every crime weighs 1")
        return
    listing = Table(title=f"{table.name} (sha256 {table.sha256[:12]})")
    for col in ("crime_type", "weight", "note"):
        listing.add_column(col, overflow="fold")
    for _, row in table.frame.iterrows():
        listing.add_row(str(row["crime_type"]), f"{row['weight']:g}", str(row.get("note", "")))
    console.print(listing)
    for label, text in (
        ("source", table.source),
        ("edition", table.edition),
        ("derivation", table.derivation),
    ):
        if text:
            console.print(f"{label}: {text}", highlight=False)
    if table.per_force:
        console.print(
            f"{len(table.force_weights)} forces, each weighted by its own offence mix; `--json` lists them.",
            highlight=False,
        )
