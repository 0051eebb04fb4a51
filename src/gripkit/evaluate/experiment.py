"""The evaluation job: every outcome x model effect of a patrol experiment, each with its own
randomisation-inference p-value, stored in the workspace for the report and the dashboard.

``gripkit evaluate`` is a thin shell over :func:`evaluate_experiment`. For each outcome the job fits
each model that applies (negative binomial models whole counts only, so it is skipped, with a
note, for a weighted outcome such as harm), draws the randomisation inference for that outcome
once and attaches its p-value to every effect row of that outcome; a dosage-response row is added
when the place-days carry ``dosage``. Difference-in-differences (``did_start``) is for roll-outs
that were not randomised, so it has no randomisation p-value.

Example
-------
>>> import numpy as np
>>> from gripkit.evaluate.design import place_day_design
>>> design = place_day_design(list("abcdef"), days=20, treated_per_day=2, start="2024-01-01", seed=0)
>>> rng = np.random.default_rng(1)
>>> frame = design.assignment.assign(count=rng.poisson(3.0, 120), harm=rng.gamma(2.0, 50.0, 120))
>>> result = evaluate_experiment(None, frame, outcomes=["count", "harm"], models=["nb"], ri_draws=99)
>>> [(e.outcome, e.model) for e in result.effects]
[('count', 'nb')]
>>> result.meta["notes"]
["model 'nb' skipped for outcome 'harm': it models whole counts and 'harm' is weighted; use 'poisson'"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from gripkit import columns as C
from gripkit.errors import InputError
from gripkit.evaluate.design import Design, load_design
from gripkit.evaluate.effects import EffectResult, difference_in_differences, dosage_response, estimate_effect
from gripkit.evaluate.inference import RI_CHUNKS, RandomisationResult, randomisation_inference
from gripkit.evaluate.plan_design import PlanDesign
from gripkit.progress import Progress, Steps
from gripkit.results import ResultMixin, to_jsonable
from gripkit.workspace import Workspace

MODELS = ("poisson", "nb")


_MODEL_NAMES = {"poisson": "Poisson", "nb": "negative binomial"}
NO_RI_DID = "difference-in-differences: the roll-out was not randomised, so there is no randomisation p-value"
NO_RI_DOSAGE = "dosage is delivered, not randomised, so its slope has no randomisation p-value"
NO_RI_SKIPPED = "randomisation inference skipped (ri_draws=0)"


def _change(effect: EffectResult) -> str:
    """``44% less harm``, ``12% fewer crimes``, ``3% higher <outcome>``."""
    down = effect.pct_change < 0
    size = f"{abs(effect.pct_change):.0f}%"
    if effect.outcome == C.COUNT:
        return f"{size} {'fewer' if down else 'more'} crimes"
    if effect.outcome == C.HARM:
        return f"{size} {'less' if down else 'more'} harm"
    return f"{size} {'lower' if down else 'higher'} {effect.outcome}"


def _p(value: float | None) -> str:
    if value is None or not np.isfinite(value):
        return "not available"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def _clause(effect: EffectResult) -> str:
    """One effect row in words, with its model, CI and p-values."""
    model = _MODEL_NAMES.get(effect.model, effect.model)
    where = ""
    if effect.label.startswith("per "):
        where = f" {effect.label}"
    elif effect.label == "difference-in-differences":
        model = f"difference-in-differences, {model}"
    ri = "" if effect.ri_p_value is None else f"; randomisation p {_p(effect.ri_p_value)}"
    return (
        f"{_change(effect)}{where} ({model}; 95% CI {effect.ci_low:+.0f}% to {effect.ci_high:+.0f}%; "
        f"p {_p(effect.p_value)}{ri})"
    )


@dataclass
class EvaluationResult(ResultMixin):
    """Effects of an experiment (one row per outcome x model, plus dosage response) and provenance.

    Attributes
    ----------
    effects : list of EffectResult
        Each with ``ri_p_value`` of its own outcome (None, with ``ri_note`` saying why, for DiD and
        dosage rows).
    randomisation : dict of str -> RandomisationResult
        The randomisation inference per outcome.
    meta : dict
        Input (path or ``"frame"``), rows, areas, days, treated share, outcomes, models, seed,
        draws, design id, notes on skipped models.
    place_days : pandas.DataFrame or None
        The place-days evaluated, when the job built them (:func:`gripkit.evaluate.from_plan.evaluate_plan`).
    """

    kind: ClassVar[str] = "evaluation"
    effects: list[EffectResult]
    randomisation: dict[str, RandomisationResult] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    place_days: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """The effects as a frame, one row per effect."""
        return pd.DataFrame([e.to_dict() for e in self.effects])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe effects, randomisation p-values per outcome, and meta."""
        return {
            "meta": to_jsonable(self.meta),
            "effects": [to_jsonable(e.to_dict()) for e in self.effects],
            "randomisation": {
                k: {
                    "beta": r.beta,
                    "pct_change": r.pct_change,
                    "p_value": r.p_value,
                    "draws": len(r.draws),
                    "scheme": r.scheme,
                    "seed": r.seed,
                }
                for k, r in self.randomisation.items()
            },
        }

    def summary(self) -> str:
        """One paragraph, e.g. "... patrol days saw 44% less harm (Poisson; 95% CI -60% to -22%; ...)"."""
        m = self.meta
        clauses = [_clause(e) for e in self.effects]
        listed = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
        share = m.get("treated_share")
        treated = "" if share is None else f", {float(share):.0%} treated"
        subject = (
            f"the roll-out areas saw, from {m['did_start']}," if m.get("did_start") else "patrol days saw"
        )
        notes = "".join(f" Note: {n}." for n in m.get("notes", []))
        return (
            f"On {m.get('rows', 0):,} place-days in {m.get('areas', 0)} areas over {m.get('days', 0)} days"
            f"{treated}, {subject} {listed}.{notes}"
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The effects table (and the place-days, when the job built them)."""
        built = {} if self.place_days is None else {"place_days": self.place_days}
        return {"effects": self.table(), **built}


def read_place_days(source: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Place-days from a frame (copied) or a CSV/Parquet file."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.is_file():
        raise InputError(
            f"'place_days' must be a frame or an existing CSV/Parquet file; received {str(path)!r}, "
            "which does not exist. Pass a file with area_id, date, treated and the outcome columns."
        )
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={C.AREA_ID: str})


def _names(what: str, values: Sequence[str] | str, choices: str) -> list[str]:
    items = [v.strip() for v in (values.split(",") if isinstance(values, str) else values) if v.strip()]
    if not items:
        raise InputError(f"'{what}' must name at least one; received {values!r}. Pass e.g. {choices}.")
    return items


def _nb_applies(frame: pd.DataFrame, outcome: str) -> bool:
    """The negative binomial models whole counts: not harm, nor any outcome with fractions."""
    values = pd.to_numeric(frame[outcome], errors="coerce").dropna().to_numpy(dtype=float)
    return outcome != C.HARM and bool(np.allclose(values % 1, 0))


def evaluate_experiment(
    workspace: Workspace | None,
    place_days: pd.DataFrame | str | Path,
    *,
    outcomes: Sequence[str] | str = (C.COUNT,),
    models: Sequence[str] | str = MODELS,
    time_effects: bool = True,
    ri_draws: int = 999,
    design: Design | PlanDesign | int | None = None,
    did_start: str | None = None,
    group: str = "group",
    seed: int = 0,
    store: bool = True,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Estimate the effect of patrols on each outcome with each model (see the module docstring).

    Parameters
    ----------
    workspace
        Where the result is stored (and a stored design is read from); None to store nothing.
    place_days
        Frame or CSV/Parquet with ``area_id, date, treated`` and the outcome columns (``dosage``
        in minutes adds a dosage-response row per outcome).
    outcomes, models
        Outcome columns; models among ``poisson`` and ``nb`` (lists or comma-separated text).
    time_effects
        One fixed effect per date (place effects always).
    ri_draws
        Randomisation-inference re-draws per outcome (0 skips it; else at least 19).
    design
        The design that was randomised (a :class:`Design`, a stored design's ``result_id``, or a
        stored patrol plan's :class:`~gripkit.evaluate.plan_design.PlanDesign`); None re-draws by
        permuting ``treated`` across areas within each day.
    did_start, group
        Difference-in-differences for a non-randomised roll-out starting on ``did_start``.
    seed
        Seed of the randomisation inference.
    store
        Store the result in ``workspace``.
    progress
        ``progress(done, total, name)`` (:data:`gripkit.progress.Progress`): per outcome, one step
        per model and :data:`~gripkit.evaluate.inference.RI_CHUNKS` for the randomisation inference.
    """
    chosen = _names("models", models, "'poisson,nb'")
    bad = [m for m in chosen if m not in MODELS]
    if bad:
        raise InputError(
            f"'models' must be among {', '.join(MODELS)}; received {bad}. Pass 'poisson', 'nb' or both."
        )
    if not isinstance(ri_draws, int | np.integer) or (ri_draws != 0 and ri_draws < 19):
        raise InputError(
            f"'ri_draws' must be 0 (skip) or >= 19 (so p = 0.05 is possible); received {ri_draws!r}. "
            "Pass 999."
        )
    frame = read_place_days(place_days)
    wanted = _names("outcomes", outcomes, "'count' or 'count,harm'")
    missing = [o for o in wanted if o not in frame.columns]
    if missing:
        raise InputError(
            f"'outcomes' must be columns of the place-days; received {missing}, but the columns are "
            f"{', '.join(map(str, frame.columns))}."
        )
    design_id: int | None = None
    if isinstance(design, int | np.integer):
        if workspace is None:
            raise InputError(f"'design' is a stored result id ({design}); pass the workspace that holds it.")
        design_id = int(design)
        design = load_design(workspace, design_id)
    elif isinstance(design, Design):
        design_id = design.meta.get("result_id")
    effects: list[EffectResult] = []
    randomisation: dict[str, RandomisationResult] = {}
    notes: list[str] = []
    # per outcome: one step per model, RI_CHUNKS for the randomisation inference
    ri_steps = RI_CHUNKS if ri_draws and not did_start else 0
    steps = Steps(progress, len(wanted) * (len(chosen) + ri_steps))
    for outcome in wanted:
        rows: list[EffectResult] = []
        for model in chosen:
            if model == "nb" and not _nb_applies(frame, outcome):
                notes.append(
                    f"model 'nb' skipped for outcome {outcome!r}: it models whole counts and "
                    f"{outcome!r} is weighted; use 'poisson'"
                )
                continue
            if did_start:
                row = difference_in_differences(
                    frame, group=group, start=did_start, outcome=outcome, model=model
                )
                row.ri_note = NO_RI_DID
            else:
                row = estimate_effect(frame, outcome=outcome, model=model, time_effects=time_effects)
            rows.append(row)
            steps.step(f"{outcome}: {model}")
        if not rows:
            continue
        if not did_start:
            if ri_draws:
                ri = randomisation_inference(
                    frame, design, outcome=outcome, draws=int(ri_draws), seed=seed,
                    progress=steps.part(ri_steps, f"{outcome}: "),
                )
                randomisation[outcome] = ri
                for row in rows:
                    row.ri_p_value = ri.p_value
            else:
                for row in rows:
                    row.ri_note = NO_RI_SKIPPED
            if C.DOSAGE in frame.columns:
                dose = dosage_response(frame, outcome=outcome, time_effects=time_effects)
                dose.ri_note = NO_RI_DOSAGE
                rows.append(dose)
        effects += rows
    steps.finish()  # a model skipped (nb on harm) leaves its step undone
    if not effects:
        raise InputError(
            f"nothing could be estimated: received 'models' {chosen} for 'outcomes' {wanted} ("
            f"{'; '.join(notes)}). Add 'poisson' to 'models': it models counts and weighted outcomes."
        )
    dates = (
        pd.to_datetime(frame[C.DATE]) if C.DATE in frame.columns else pd.Series([], dtype="datetime64[ns]")
    )
    meta: dict[str, Any] = {
        "place_days": "frame" if isinstance(place_days, pd.DataFrame) else str(place_days),
        "rows": len(frame),
        "areas": int(frame[C.AREA_ID].nunique()) if C.AREA_ID in frame.columns else 0,
        "days": int(dates.nunique()),
        "first_day": dates.min() if len(dates) else None,
        "last_day": dates.max() if len(dates) else None,
        "treated_share": float(pd.to_numeric(frame[C.TREATED]).mean())
        if C.TREATED in frame.columns
        else None,
        "outcomes": wanted,
        "models": chosen,
        "time_effects": time_effects,
        "ri_draws": int(ri_draws),
        "seed": seed,
        "design_id": design_id,
        "design": design.to_dict() if isinstance(design, Design | PlanDesign) else None,
        "did_start": did_start,
        "notes": notes,
    }
    result = EvaluationResult(effects, randomisation, meta)
    if workspace is not None and store:
        workspace.save_result(result)
    return result
