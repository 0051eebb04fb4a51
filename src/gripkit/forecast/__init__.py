"""Forecasting: fit/predict models, accuracy metrics (hit rate, PAI, PEI, RRI), rolling backtests.

Example
-------
>>> from gripkit.forecast import ProspectiveHotspot
>>> ProspectiveHotspot().get_params()
{'distance_band': 400.0, 'time_band': 8.0, 'weights': None}
"""

from gripkit.forecast import metrics
from gripkit.forecast.base import Period
from gripkit.forecast.models import Forecaster, Naive, ProspectiveHotspot, RetrospectiveKDE
from gripkit.forecast.report import BacktestResult
from gripkit.forecast.rolling import backtest, make_model, plan_steps
from gripkit.forecast.sepp import SEPP, simulate_sepp

__all__ = [
    "SEPP",
    "BacktestResult",
    "Forecaster",
    "Naive",
    "Period",
    "ProspectiveHotspot",
    "RetrospectiveKDE",
    "backtest",
    "make_model",
    "metrics",
    "plan_steps",
    "simulate_sepp",
]
