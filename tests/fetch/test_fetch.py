"""gripkit fetch against a local police.uk server built from the real Bedfordshire files."""

from __future__ import annotations

import socket

import pytest
from tests.fetch.conftest import build_archive, members
from tests.fetch.server import Server, Site, max_in_window

from gripkit.fetch import Client, FetchError, RateLimiter, fetch


def test_limiter_never_lets_16_into_one_second() -> None:
    # Fake clock: 40 back-to-back requests. Hand count: 15 at t=0, the 16th waits until the
    # oldest is 1.0 + 0.05 s old, so no 1-s window ever holds more than 15.
    now = [0.0]
    limiter = RateLimiter(15, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    times = []
    for _ in range(40):
        limiter.acquire()
        times.append(now[0])
    assert max_in_window(times) == 15
    assert times[15] == pytest.approx(1.05)


def test_offline_names_the_way_round(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match=r"cannot reach .*'base_url'.*gripkit ingest"):
        fetch("Bedfordshire", last=1, into=tmp_path, base_url=f"http://127.0.0.1:{port}")


def _site(**kw: object) -> Site:
    months = sorted({n.split("/")[0] for n in members()})
    return Site(archives={"2024-04": build_archive("2024-04")},
                dates=[{"date": m, "stop-and-search": ["bedfordshire"]} for m in months],
                forces={"bedfordshire": "Bedfordshire Police"}, **kw)  # type: ignore[arg-type]


def test_archive_resumed_after_drop_and_429s_then_nothing_on_second_run(tmp_path) -> None:
    site = _site(drop_once={"2024-04"}, burst_429=4)
    with Server(site) as server:
        first = fetch("Bedfordshire", last=36, into=tmp_path, base_url=server.url)
        gets = [row for row in site.log if row[1] == "GET" and row[2].endswith(".zip")]
        assert [row[3] for row in gets] == [200, 206]  # dropped half way, then the rest by Range
        assert sum(row[3] == 429 for row in site.log) == 4
        # Every Bedfordshire file of the 36 months, byte for byte; the decoy force is not extracted.
        assert len(first.written) == len(members()) == 108
        for name, data in members().items():
            assert (tmp_path / name).read_bytes() == data
        assert not list(tmp_path.rglob("*decoyshire*"))
        sent = site.archive_bytes_sent
        second = fetch("Bedfordshire", last=36, into=tmp_path, base_url=server.url)
        assert site.archive_bytes_sent == sent and second.written == []
        assert second.archives_unchanged == ["2024-04"] and len(second.unchanged) == 108
    assert max_in_window([row[0] for row in site.log]) <= 15


def test_checksum_mismatch_refused(tmp_path) -> None:
    site = _site(bad_checksum={"2024-04"})
    with Server(site) as server, pytest.raises(FetchError, match="checksum mismatch"):
        fetch("Bedfordshire", months=("2024-04", "2024-04"), into=tmp_path, base_url=server.url)
    assert not list(tmp_path.rglob("*.csv"))
    assert not list(tmp_path.rglob("*.zip")) and not list(tmp_path.rglob("*.zip.partial"))


def test_api_calls_stay_within_15_per_second() -> None:
    site = _site()
    with Server(site) as server, Client(server.url) as client:
        for _ in range(40):
            client.get_json("/api/forces")
    assert max_in_window([row[0] for row in site.log]) <= 15


def test_api_months_split_polygon_and_report_unlisted_month(tmp_path, boundary) -> None:
    import io

    import pandas as pd
    import shapely
    from tests.fetch.conftest import api_month

    crimes, stops = api_month("2024-04")
    months = sorted({n.split("/")[0] for n in members()} - {"2024-03"})
    site = Site(archives={"2024-02": build_archive("2024-02")}, limit=2000,
                dates=[{"date": m, "stop-and-search": ["bedfordshire"]} for m in months],
                forces={"bedfordshire": "Bedfordshire Police"},
                crimes={"2024-04": crimes}, stops={"2024-04": {"bedfordshire": stops}})
    with Server(site) as server:
        result = fetch("Bedfordshire", months=("2024-03", "2024-04"), kinds=["street", "stop-and-search"],
                       into=tmp_path, base_url=server.url, boundary=boundary)
    assert {(m["month"], m["kind"]) for m in result.missing} == {("2024-03", "street"),
                                                                 ("2024-03", "stop-and-search")}
    assert "without 2024-03" in result.missing[0]["reason"]
    assert result.api_months == ["2024-04"]
    assert sum(row[3] == 503 for row in site.log) >= 1  # split: the whole force holds > 2,000 crimes
    got = pd.read_csv(tmp_path / "2024-04/2024-04-bedfordshire-street.csv", dtype=str, keep_default_na=False)
    hand = pd.read_csv(io.BytesIO(members()["2024-04/2024-04-bedfordshire-street.csv"]), dtype=str,
                       keep_default_na=False)
    hand = hand[hand["Longitude"] != ""]
    inside = shapely.intersects_xy(boundary, hand["Longitude"].astype(float), hand["Latitude"].astype(float))
    hand = hand[inside]
    cols = [c for c in hand.columns if c not in ("LSOA code", "LSOA name")]  # the API has no LSOA
    key = sorted(map(tuple, hand[cols].to_numpy().tolist()))
    assert sorted(map(tuple, got[cols].to_numpy().tolist())) == key
    assert (got["LSOA code"] == "").all()
    stop_got = (tmp_path / "2024-04/2024-04-bedfordshire-stop-and-search.csv").read_text()
    stop_hand = members()["2024-04/2024-04-bedfordshire-stop-and-search.csv"].decode()
    assert sorted(stop_got.splitlines()) == sorted(stop_hand.replace("\r", "").splitlines())
    assert max_in_window([row[0] for row in site.log]) <= 15


CONTENT = (
    "SELECT (SELECT count(*) FROM crimes), (SELECT count(DISTINCT crime_id) FROM crimes), "
    "(SELECT count(*) FROM sources), (SELECT coalesce(sum(rows_loaded), 0) FROM sources), "
    "(SELECT string_agg(sha256, ',' ORDER BY sha256) FROM sources)"
)


def test_fetch_and_ingest_equals_ingesting_the_zip_by_hand(tmp_path, shared_data) -> None:
    # the acceptance run, through the CLI: gripkit fetch --force Bedfordshire --last 36 --ingest -w WS
    from typer.testing import CliRunner

    from gripkit import Workspace
    from gripkit.cli import app
    from gripkit.ingestion import ingest

    site = _site()
    workspace = tmp_path / "w.duckdb"
    with Server(site) as server:
        args = ["fetch", "--force", "Bedfordshire", "--last", "36", "--into", str(tmp_path / "files"),
                "--ingest", "-w", str(workspace), "--base-url", server.url, "--json"]
        run = CliRunner().invoke(app, args)
        assert run.exit_code == 0, run.output
        sent = site.archive_bytes_sent
        again = CliRunner().invoke(app, args)  # a second run downloads and ingests nothing
        assert again.exit_code == 0, again.output
        assert site.archive_bytes_sent == sent
    zip_path = shared_data("bedfordshire", "police-uk-bedfordshire-2021-05-to-2024-04.zip")
    with Workspace(workspace) as fetched, Workspace(tmp_path / "hand.duckdb") as hand:
        ingest([zip_path], hand)
        got, want = fetched.con.execute(CONTENT).fetchone(), hand.con.execute(CONTENT).fetchone()
    assert got == want  # same rows, same ids, same files (by SHA-256)
    assert want is not None and want[0] == 174_692  # the single-ingest count of the 36 months


def test_bundled_force_polygon_is_the_shared_force_area(boundary) -> None:
    # no --boundary needed for the 43 forces: the bundled areas are the shared file's (both dissolved
    # from the same LSOAs), simplified alike; an unknown force gives None (the job then asks for one)
    from gripkit.fetch.job import bundled_boundary

    bundled = bundled_boundary("bedfordshire")
    assert bundled is not None
    assert bundled.symmetric_difference(boundary).area / boundary.area < 0.01
    assert bundled_boundary("atlantis") is None


def test_long_polygons_go_by_post_with_the_same_rows(tmp_path, monkeypatch) -> None:
    # the bundled polygon fits a GET; with the limit lowered to 100 characters every query is a POST,
    # and the month written is the same file as by GET (the server answers both from one handler)
    from tests.fetch.conftest import api_month

    from gripkit.fetch import api

    crimes, stops = api_month("2024-04")
    months = sorted({n.split("/")[0] for n in members()})
    site = Site(archives={"2024-03": build_archive("2024-03")},
                dates=[{"date": m, "stop-and-search": ["bedfordshire"]} for m in months],
                forces={"bedfordshire": "Bedfordshire Police"},
                crimes={"2024-04": crimes}, stops={"2024-04": {"bedfordshire": stops}})
    with Server(site) as server:
        fetch("Bedfordshire", months=("2024-04", "2024-04"), kinds=["street"], into=tmp_path / "get",
              base_url=server.url)
        by_get = (tmp_path / "get/2024-04/2024-04-bedfordshire-street.csv").read_bytes()
        monkeypatch.setattr(api, "MAX_GET_CHARS", 100)
        fetch("Bedfordshire", months=("2024-04", "2024-04"), kinds=["street"], into=tmp_path / "post",
              base_url=server.url)
    posts = [row for row in site.log if row[1] == "POST"]
    assert posts and all("crimes-street" in row[2] for row in posts)
    assert (tmp_path / "post/2024-04/2024-04-bedfordshire-street.csv").read_bytes() == by_get
