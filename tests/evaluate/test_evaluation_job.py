"""The evaluation job: one effect row per outcome x model, each with its own outcome's
randomisation-inference p-value, never a crash for a model that does not apply, stored for the report.

Place-days are simulated (no open record-level outcome data exists for a patrol experiment): the
Op Rowan shape, 21 areas x 30 days, 7 treated a day, negative-binomial counts with a planted 40% cut,
and harm = counts weighted by a gamma draw per crime (a non-integer outcome).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gripkit import Workspace
from gripkit.cli import app
from gripkit.errors import InputError
from gripkit.evaluate import place_day_design, randomisation_inference
from gripkit.evaluate.experiment import NO_RI_DID, NO_RI_DOSAGE, evaluate_experiment
from gripkit.evaluate.figures import html_section
from gripkit.evaluate.power import _simulate

AREAS = [f"L{i:02d}" for i in range(21)]
NB_HARM = ("--outcomes", "harm", "--models", "nb")


def _place_days(seed: int = 3, effect: float = 0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    design = place_day_design(AREAS, days=30, treated_per_day=7, start="2024-06-01", seed=seed)
    mu = rng.gamma(2.0, 0.6, len(AREAS))
    y = _simulate(rng, mu, 0.5, design.matrix()[None], effect, None)[0].ravel().astype(int)
    harm = np.array([rng.gamma(2.0, 90.0, n).sum() for n in y])
    return design.assignment.assign(count=y, harm=harm)


@pytest.fixture()
def place_days_csv(tmp_path: Path) -> Path:
    path = tmp_path / "place_days.csv"
    _place_days(effect=0.15).to_csv(path, index=False)  # a modest cut, so p-values are not at their floor
    return path


def _cli(place_days: Path, *args: str) -> dict:
    """``gripkit evaluate --json`` on a workspace next to the place-days (never the default one)."""
    workspace = ["-w", str(place_days.parent / "cli.duckdb")]
    run = CliRunner().invoke(
        app, ["evaluate", str(place_days), *args, "--ri-draws", "199", "--json", *workspace]
    )
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def test_harm_with_nb_only_says_why_instead_of_crashing(place_days_csv: Path) -> None:
    # nb models whole counts; harm is weighted, so nothing can be estimated: a clear error, not IndexError
    run = CliRunner().invoke(
        app, ["evaluate", str(place_days_csv), *NB_HARM, "-w", str(place_days_csv.parent / "w.duckdb")]
    )
    assert run.exit_code != 0
    assert isinstance(run.exception, InputError) and "nothing could be estimated" in str(run.exception)
    assert "Add 'poisson' to 'models'" in str(run.exception)
    # ... and what `gripkit evaluate` prints: one line naming the flags, no traceback
    shell = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gripkit.cli import main; main()",
            "evaluate",
            str(place_days_csv),
            *NB_HARM,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=place_days_csv.parent,
        env={**os.environ, "GRIPKIT_WORKSPACE": str(place_days_csv.parent / "w.duckdb"), "COLUMNS": "200"},
    )
    assert shell.returncode == 1 and shell.stdout == ""
    assert "Traceback" not in shell.stderr and "IndexError" not in shell.stderr
    assert "received --models ['nb'] for --outcomes ['harm']" in shell.stderr
    assert "Add 'poisson' to --models" in shell.stderr


def test_each_row_carries_its_own_outcomes_randomisation_p_value(place_days_csv: Path) -> None:
    payload = _cli(place_days_csv, "--outcomes", "count,harm", "--models", "poisson,nb")
    rows = [(e["outcome"], e["model"]) for e in payload["effects"]]
    assert rows == [("count", "poisson"), ("count", "nb"), ("harm", "poisson")]
    frame = pd.read_csv(place_days_csv)
    for outcome in ("count", "harm"):
        alone = randomisation_inference(frame, outcome=outcome, draws=199, seed=0).p_value
        mine = [e["ri_p_value"] for e in payload["effects"] if e["outcome"] == outcome]
        assert mine and all(p == pytest.approx(alone) for p in mine)
    p_count, p_harm = (payload["randomisation"][o]["p_value"] for o in ("count", "harm"))
    assert p_count != p_harm  # the two outcomes' inferences differ, so a mix-up would be caught
    nb_only = _cli(place_days_csv, "--outcomes", "count,harm", "--models", "nb")
    assert [(e["outcome"], e["model"]) for e in nb_only["effects"]] == [("count", "nb")]
    assert nb_only["effects"][0]["ri_p_value"] == pytest.approx(p_count)
    assert any("'nb' skipped for outcome 'harm'" in n for n in nb_only["meta"]["notes"])
    with Workspace(place_days_csv.parent / "cli.duckdb") as ws:  # the library stored both runs
        assert [r["kind"] for r in ws.results_log().to_dict("records")] == ["evaluation", "evaluation"]


def test_python_job_stores_the_evaluation_for_the_report(tmp_path: Path) -> None:
    frame = _place_days()
    with Workspace(tmp_path / "ws.duckdb") as ws:
        both = evaluate_experiment(ws, frame, outcomes="count,harm", ri_draws=99, seed=1)
        back = ws.latest_result("evaluation")
        assert back is not None and back.payload["effects"] == both.to_dict()["effects"]  # same effects
        assert [(e["outcome"], e["model"]) for e in back.payload["effects"]] == [
            ("count", "poisson"),
            ("count", "nb"),
            ("harm", "poisson"),
        ]
        result = evaluate_experiment(ws, frame, outcomes=["count"], models=["poisson"], ri_draws=99)
        stored = ws.latest_result("evaluation")
        assert stored is not None and stored.result_id == result.meta["result_id"]
        assert stored.payload["effects"][0]["pct_change"] == pytest.approx(result.effects[0].pct_change)
        assert stored.table_names == ("effects",)
        # 21 areas x 30 days = 630 place-days, 7 of 21 treated a day = 33%
        assert stored.summary.startswith(
            "On 630 place-days in 21 areas over 30 days, 33% treated, patrol days saw"
        )
        effect = result.effects[0]
        assert (
            f"{abs(effect.pct_change):.0f}% {'fewer' if effect.pct_change < 0 else 'more'} crimes"
            in stored.summary
        )
        assert f"randomisation p = {effect.ri_p_value:.3f}" in stored.summary
        assert stored.meta["rows"] == 630 and stored.meta["treated_share"] == pytest.approx(7 / 21)
        assert stored.meta["place_days"] == "frame" and stored.meta["ri_draws"] == 99
        assert ws.result_table(stored.result_id, "effects")["pct_change"].tolist() == pytest.approx(
            [effect.pct_change]
        )
    assert frame.columns.tolist() == ["area_id", "date", "treated", "count", "harm"]  # not mutated


def test_stored_design_is_used_for_the_re_draws(tmp_path: Path) -> None:
    design = place_day_design(AREAS, days=30, treated_per_day=7, start="2024-06-01", seed=3)
    frame = _place_days()
    with Workspace(tmp_path / "ws.duckdb") as ws:
        rid = design.store(ws)
        result = evaluate_experiment(ws, frame, models=["poisson"], ri_draws=99, design=rid, seed=2)
    direct = randomisation_inference(frame, design, draws=99, seed=2)
    assert result.effects[0].ri_p_value == pytest.approx(direct.p_value)
    assert "stored place_days design" in result.randomisation["count"].scheme
    assert result.meta["design_id"] == rid


def test_dosage_and_did_rows_say_why_they_have_no_randomisation_p_value() -> None:
    frame = _place_days().assign(dosage=lambda f: f["treated"].astype(int) * 15.0)
    result = evaluate_experiment(None, frame, outcomes="count,harm", models="poisson", ri_draws=99, seed=4)
    rows = [(e.outcome, e.label) for e in result.effects]
    assert rows == [
        ("count", "treated vs control"),
        ("count", "per 15 minutes of dosage"),
        ("harm", "treated vs control"),
        ("harm", "per 15 minutes of dosage"),
    ]
    for e in result.effects:
        if e.label.startswith("per "):
            assert e.ri_p_value is None and e.ri_note == NO_RI_DOSAGE
        else:
            alone = randomisation_inference(frame, outcome=e.outcome, draws=99, seed=4).p_value
            assert e.ri_p_value == pytest.approx(alone) and e.ri_note is None
    rollout = _place_days().assign(group=lambda f: f["area_id"] < "L07")
    did = evaluate_experiment(None, rollout, models="poisson", did_start="2024-06-16", ri_draws=99)
    assert [(e.label, e.ri_p_value, e.ri_note) for e in did.effects] == [
        ("difference-in-differences", None, NO_RI_DID)
    ]
    assert did.randomisation == {}
    section = html_section(effects=result.effects, randomisation=result.randomisation)
    for outcome in ("count", "harm"):
        p = result.randomisation[outcome].p_value
        assert f"Randomisation inference for {outcome} (" in section and f"p = {p:.4f}" in section
    assert "the roll-out areas saw, from 2024-06-16," in did.summary()


def test_bad_outcomes_and_models_name_the_parameter() -> None:
    frame = _place_days()
    with pytest.raises(InputError, match=r"'outcomes' must be columns .* received \['crimes'\]"):
        evaluate_experiment(None, frame, outcomes=["crimes"])
    with pytest.raises(InputError, match=r"'models' must be among poisson, nb; received \['ols'\]"):
        evaluate_experiment(None, frame, models="ols")
    with pytest.raises(InputError, match=r"'models' must name at least one; received ''"):
        evaluate_experiment(None, frame, models="")
    with pytest.raises(InputError, match=r"'ri_draws' must be 0 \(skip\) or >= 19 .* received 5"):
        evaluate_experiment(None, frame, ri_draws=5)
    with pytest.raises(InputError, match=r"'design' is a stored result id \(3\); pass the workspace"):
        evaluate_experiment(None, frame, design=3)
    with pytest.raises(InputError, match="does not exist"):
        evaluate_experiment(None, "no/such/file.csv")


def test_randomisation_test_keeps_its_size_under_the_null() -> None:
    """Calibration: with no effect, a 5% randomisation test rejects ~5% of experiments.

    120 null experiments, 99 re-draws each. Under the null the p-value is uniform on {1/100, ...,
    1}, so P(p <= 0.05) = 5/100; the rejection count is Binomial(120, 0.05): mean 6, SD 2.39,
    and 1..14 covers it with probability > 0.996 (scipy.stats.binom: P(0) = 0.95**120 = 0.0021,
    P(X > 14) = 0.0010).
    """
    rejections = 0
    for seed in range(120):
        frame = _place_days(seed=100 + seed, effect=0.0)
        p = randomisation_inference(frame, draws=99, seed=seed).p_value
        rejections += p <= 0.05
    assert 1 <= rejections <= 14
