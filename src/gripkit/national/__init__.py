"""National Grip run: every force at once, with per-force results reused across monthly updates.

Example
-------
>>> from gripkit.national import NationalParams
>>> NationalParams(last=12).describe()["last"]
12
"""

from gripkit.national.force import NationalParams, summarise_force
from gripkit.national.run import NationalResult, force_keys, run_national

__all__ = ["NationalParams", "NationalResult", "force_keys", "run_national", "summarise_force"]
