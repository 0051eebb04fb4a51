"""The programme report shows the stored audit beside the hotspot selection it describes."""

from __future__ import annotations

import html
import re

from gripkit import Workspace
from gripkit.report.full import NOT_RUN, SHOWN, build_report


def _section(page: str, sid: str) -> str:
    match = re.search(rf'<section id="{sid}">(.*?)</section>', page, re.S)
    assert match, sid
    return match.group(1)


def test_report_shows_the_audit_summary_and_rounded_figures(result, workspace: Workspace) -> None:
    report = build_report(workspace)
    assert report.sections["audit"] == SHOWN
    body = html.unescape(_section(report.html, "audit"))
    assert result.summary() in body
    figures = result.to_dict()
    # key numbers rounded as the report does: shares as percentages to 0.1 (4.4% for 0.04424...),
    # other figures to 4 significant figures (gripkit.report.text.fmt_named)
    for name in ("proactive_share", "final_top_share"):
        assert f'<th>{name}</th><td class="num">{figures[name] * 100:.1f}%</td>' in body
    assert f'<th>final_gini</th><td class="num">{figures["final_gini"]:.4g}</td>' in body
    per_1000 = figures["stop_search_per_1000"]["hotspots"]
    assert f'<th>stop_search_per_1000: hotspots</th><td class="num">{per_1000:.4g}</td>' in body
    assert "rounds" in body and "rounds_no_uplift" in body  # the stored per-round tables
    # beside the hotspot selection: the audit comes right after the hotspot sections and the heatmap
    order = list(report.sections)
    assert order.index("audit") == order.index("hour-weekday") + 1


def test_report_without_an_audit_says_how_to_run_it(tmp_path) -> None:
    with Workspace(tmp_path / "empty.duckdb") as ws:
        report = build_report(ws)
    assert report.sections["audit"] == NOT_RUN
    assert "<code>gripkit audit</code>" in _section(report.html, "audit")
