"""Every kind of broken file is contained: the good files of its batch load, it is named with its cause.

Each case of tests/ingestion/fuzz.py (built from the real Bedfordshire files) is ingested through
``gripkit ingest --json`` beside four good month files. Expected rows are counted from the real
files themselves (:meth:`Corpus.rows`): the four good months hold 4 x their data lines, read as
loaded or quarantined.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.ingestion.fuzz import KINDS, Corpus, matches
from typer.testing import CliRunner

from gripkit.cli import app

SOME_REJECTED = 3  # docs/cli.md, "Exit codes"


@pytest.fixture(scope="module")
def corpus(bedfordshire_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(bedfordshire_zip, tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_broken_file_is_contained(kind: str, corpus: Corpus, tmp_path: Path) -> None:
    good = corpus.good()
    case = corpus.make(kind)
    args = ["ingest", *map(str, good), *map(str, case.paths), "-w", str(tmp_path / "ws.duckdb"), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    report = json.loads(result.stdout)
    good_rows = sum(corpus.rows(m) for m in ("2021-05", "2021-06", "2021-07", "2021-08"))
    rejected = [r["reason"] for r in report["rejected_files"]]
    crimes = {k: report[k] for k in ("read", "loaded", "quarantined")} | {"files": report["street_files"]}
    assert crimes["read"] == crimes["loaded"] + crimes["quarantined"]
    if case.outcome == "rejected":
        assert len(rejected) == 1 and matches(case, rejected[0]), rejected
        assert crimes["files"] == 4 and crimes["read"] == good_rows  # the good files, all of them
        assert result.exit_code == SOME_REJECTED
    else:
        assert rejected == [] and crimes["files"] == 5 and result.exit_code == 0
        if case.outcome == "bad_month":
            assert report["by_reason"]["bad_month"] == case.rows
        if case.rows is not None and case.outcome == "loaded":
            assert crimes["read"] == good_rows + case.rows


def test_cr_only_file_reads_as_the_original(corpus: Corpus, tmp_path: Path) -> None:
    """A "CSV (Macintosh)" file (CR line ends) gives the rows the LF original gives."""
    from gripkit import Workspace
    from gripkit.ingestion import ingest

    plain = corpus.write("lf/2021-09-bedfordshire-street.csv", corpus.month("2021-09"))
    cr = corpus.make("cr_only").paths[0]
    counts = []
    for path in (plain, cr):
        with Workspace(":memory:") as ws:
            report = ingest([path], ws)
            counts.append((report.crimes.read, report.crimes.loaded, dict(report.by_reason)))
    assert counts[0] == counts[1] and counts[0][0] == corpus.rows("2021-09")
