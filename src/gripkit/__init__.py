"""gripkit: evidence-based hotspot policing, from police.uk data to patrol plans and evaluation.

Every pipeline verb and its result type is here, as geopandas puts ``read_file`` at its root::

    import gripkit as gk

    with gk.Workspace("gripkit.duckdb") as ws:
        gk.ingest(gk.datasets.bedfordshire_street_files(), ws)
        hot = gk.find_hotspots(ws, unit="grid", method="gistar", harm="cchi")
        print(hot.summary())

Names are imported on first use (PEP 562), so ``import gripkit`` and the CLI start quickly.
Every result has ``kind``, ``meta``, ``to_dict()`` and ``summary()`` (:mod:`gripkit.results`),
and every job given a workspace stores its result there for ``gripkit report`` and the dashboard.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from gripkit.errors import GripkitError, InputError, WorkspaceError

__version__ = "0.1.0"

# name -> module that defines it; the stage order is the pipeline's
_LAZY: dict[str, str] = {
    # the workspace (lazy too: it needs pandas and duckdb)
    "Workspace": "gripkit.workspace",
    # ingest
    "ingest": "gripkit.ingestion.run",
    "IngestReport": "gripkit.ingestion.report",
    "ColumnMapping": "gripkit.ingestion.generic",
    # harm
    "load_harm_table": "gripkit.harm.tables",
    "HarmTable": "gripkit.harm.tables",
    # units and hotspots
    "UnitSpec": "gripkit.units.build",
    "build_units": "gripkit.units.build",
    "find_hotspots": "gripkit.hotspots.find",
    "HotspotResult": "gripkit.hotspots.find",
    "HotspotRequest": "gripkit.hotspots.request",
    "MethodSpec": "gripkit.hotspots.methods",
    # forecast
    "backtest": "gripkit.forecast.rolling",
    "BacktestResult": "gripkit.forecast.report",
    # patrol and dosage
    "plan_patrols": "gripkit.patrol.job",
    "PlanResult": "gripkit.patrol.job",
    "ingest_gps": "gripkit.dosage.ingest",
    "compliance": "gripkit.dosage.job",
    "Compliance": "gripkit.dosage.tracking",
    # evaluate
    "simulate_power": "gripkit.evaluate.power",
    "op_rowan_power": "gripkit.evaluate.rowan",
    "PowerResult": "gripkit.evaluate.power",
    "evaluate_experiment": "gripkit.evaluate.experiment",
    "evaluate_plan": "gripkit.evaluate.from_plan",
    "EvaluationResult": "gripkit.evaluate.experiment",
    # funding, national, report
    "allocate": "gripkit.funding.pot",
    "Allocation": "gripkit.funding.pot",
    "run_national": "gripkit.national.run",
    "NationalParams": "gripkit.national.force",
    "NationalResult": "gripkit.national.run",
    "write_report": "gripkit.report.full",
    "emerging_hotspots": "gripkit.hotspots.emerging_job",
    "EmergingResult": "gripkit.hotspots.emerging_job",
    # audit (not "audit": that name is the gripkit.audit subpackage)
    "audit_hotspots": "gripkit.audit.job",
    "AuditResult": "gripkit.audit.job",
    # the bundled data
    "datasets": "gripkit.datasets",
}

__all__ = [
    "Allocation",
    "AuditResult",
    "BacktestResult",
    "ColumnMapping",
    "Compliance",
    "EmergingResult",
    "EvaluationResult",
    "GripkitError",
    "HarmTable",
    "HotspotRequest",
    "HotspotResult",
    "IngestReport",
    "InputError",
    "MethodSpec",
    "NationalParams",
    "NationalResult",
    "PlanResult",
    "PowerResult",
    "UnitSpec",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "allocate",
    "audit_hotspots",
    "backtest",
    "build_units",
    "compliance",
    "datasets",
    "emerging_hotspots",
    "evaluate_experiment",
    "evaluate_plan",
    "find_hotspots",
    "ingest",
    "ingest_gps",
    "load_harm_table",
    "op_rowan_power",
    "plan_patrols",
    "run_national",
    "simulate_power",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gripkit' has no attribute {name!r}")
    value = import_module(module) if module == f"gripkit.{name}" else getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names above are lazy
    from gripkit import datasets
    from gripkit.audit.job import AuditResult, audit_hotspots
    from gripkit.dosage.ingest import ingest_gps
    from gripkit.dosage.job import compliance
    from gripkit.dosage.tracking import Compliance
    from gripkit.evaluate.experiment import EvaluationResult, evaluate_experiment
    from gripkit.evaluate.from_plan import evaluate_plan
    from gripkit.evaluate.power import PowerResult, simulate_power
    from gripkit.evaluate.rowan import op_rowan_power
    from gripkit.forecast.report import BacktestResult
    from gripkit.forecast.rolling import backtest
    from gripkit.funding.pot import Allocation, allocate
    from gripkit.harm.tables import HarmTable, load_harm_table
    from gripkit.hotspots.emerging_job import EmergingResult, emerging_hotspots
    from gripkit.hotspots.find import HotspotResult, find_hotspots
    from gripkit.hotspots.methods import MethodSpec
    from gripkit.hotspots.request import HotspotRequest
    from gripkit.ingestion.generic import ColumnMapping
    from gripkit.ingestion.report import IngestReport
    from gripkit.ingestion.run import ingest
    from gripkit.national.force import NationalParams
    from gripkit.national.run import NationalResult, run_national
    from gripkit.patrol.job import PlanResult, plan_patrols
    from gripkit.report.full import write_report
    from gripkit.units.build import UnitSpec, build_units
    from gripkit.workspace import Workspace
