"""Static HTML reports and figures."""

from gripkit.report.page import write_hotspot_page

__all__ = ["write_hotspot_page"]
