"""``gripkit audit``: what a hotspot selection rests on, a feedback simulation, who lives there and
who is stopped.

Modules: :mod:`~gripkit.audit.rests_on` (reactive vs proactive harm, record sources, the selection
without proactive types), :mod:`~gripkit.audit.feedback` (select -> patrol -> record -> re-select),
:mod:`~gripkit.audit.residents` (2011 census residents, rates per 1,000),
:mod:`~gripkit.audit.stops` (stop and search in and outside the hotspots) and
:mod:`~gripkit.audit.job` (:func:`audit_hotspots` and :class:`AuditResult`). The audit only reports: no
protected characteristic is ever used to choose areas.
"""

from __future__ import annotations

from gripkit.audit.job import AuditResult, audit_hotspots

__all__ = ["AuditResult", "audit_hotspots"]
