"""``gripkit harm list`` / ``gripkit harm show``: weights with their source, edition and derivation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gripkit.cli import app
from gripkit.harm import derive

RUNNER = CliRunner()


def run_json(*args: str) -> Any:
    result = RUNNER.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_show_ons_css_json_gives_the_acceptance_figures() -> None:
    shown = run_json("harm", "show", "ons_css")
    weights = {w["crime_type"]: w["weight"] for w in shown["weights"]}
    assert weights["Robbery"] == 799.63  # ONS CSS weight of both robbery codes, 799.62887
    # violence and sexual offences: the volume-weighted national mean computed from the shipped files
    # (recomputed by hand from the shared files in tests/harm/test_derive.py), within 0.5%
    national = derive.national_weights("ons_css").set_index("crime_type")["weight"]
    vso = float(national["Violence and sexual offences"])
    assert abs(weights["Violence and sexual offences"] - vso) <= 0.005 * vso
    assert "volume-weighted mean" in shown["derivation"] and "2017/18" in shown["edition"]
    assert "Open Government Licence" in shown["source"]
    assert shown["per_force"] is False and len(shown["sha256"]) == 64
    assert weights["Anti-social behaviour"] == 0.0


def test_show_per_force_lists_each_forces_weights() -> None:
    shown = run_json("harm", "show", "ons_css", "--per-force")
    assert shown["name"] == "ons_css_per_force" and shown["per_force"] is True
    forces = shown["force_weights"]
    assert len(forces) == 44 and "Bedfordshire" in forces and "Action Fraud" not in forces
    table = derive.force_weights("ons_css")
    beds = table[(table["force"] == "Bedfordshire") & (table["crime_type"] == "Burglary")]
    assert forces["Bedfordshire"]["Burglary"] == float(beds["weight"].iloc[0])
    assert run_json("harm", "show", "ons_css_per_force")["sha256"] == shown["sha256"]


def test_list_names_every_bundled_table_with_its_edition() -> None:
    tables = {t["name"]: t for t in run_json("harm", "list")["tables"]}
    assert set(tables) == {
        "cchi",
        "cchi_per_force",
        "cchi_ranges_legacy",
        "ons_css",
        "ons_css_medians_legacy",
        "ons_css_per_force",
    }
    assert tables["cchi_per_force"]["per_force"] is True
    assert "legacy" in tables["cchi_ranges_legacy"]["edition"]


def test_per_force_on_a_user_csv_is_an_error_naming_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text("crime_type,weight,source\nRobbery,3,me\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["harm", "show", str(path), "--per-force"])
    assert result.exit_code != 0
    assert "needs a derived table" in str(result.exception)


def test_show_text_prints_provenance() -> None:
    result = RUNNER.invoke(app, ["harm", "show", "cchi"])
    assert result.exit_code == 0, result.output
    assert "derivation:" in result.output and "edition:" in result.output
