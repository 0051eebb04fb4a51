"""Evaluate patrols: randomised designs, power, effects, randomisation inference, displacement.

Examples
--------
>>> from gripkit.evaluate import place_day_design
>>> place_day_design(["a", "b", "c"], days=2, treated_per_day=1, start="2024-01-01", seed=0).scheme
'place_days'
"""

from gripkit.evaluate.design import (
    Design,
    blocked_design,
    harm_bands,
    load_design,
    place_day_design,
    simple_design,
)
from gripkit.evaluate.effects import (
    EffectResult,
    check_place_days,
    difference_in_differences,
    dosage_response,
    estimate_effect,
)
from gripkit.evaluate.inference import RandomisationResult, poisson_fe, randomisation_inference
from gripkit.evaluate.plan_design import PlanDesign, load_plan_design
from gripkit.evaluate.power import Dispersion, PowerResult, estimate_dispersion, simulate_power

__all__ = [
    "Design",
    "Dispersion",
    "EffectResult",
    "PlanDesign",
    "PowerResult",
    "RandomisationResult",
    "blocked_design",
    "check_place_days",
    "difference_in_differences",
    "dosage_response",
    "estimate_dispersion",
    "estimate_effect",
    "harm_bands",
    "load_design",
    "load_plan_design",
    "place_day_design",
    "poisson_fe",
    "randomisation_inference",
    "simple_design",
    "simulate_power",
]
