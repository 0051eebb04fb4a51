"""Load benchmark of the dashboard: N concurrent loopback clients on the map page, the officer
page and the map API, then the same while one analyst keeps asking for new maps.

Starts ``gripkit serve`` in a subprocess on 127.0.0.1 (a free port) over a workspace holding the
bundled 12 months of Bedfordshire crime, one analyst and one officer with patrols, then runs
``--clients`` concurrent HTTP clients (each its own keep-alive connection) that each request one
path ``--requests`` times. Scenarios, each printed with p50, p90, p99, max, throughput, errors:

1. ``GET /`` (the map page) as the analyst;
2. ``GET /officer`` as the officer;
3. ``GET /api/hotspots?limit=500`` (the map API) as the analyst;
4. the three mixed (plus ``/api/me``; each client for ``--mixed-seconds``, 50 ms between its
   requests) while another analyst varies map queries without pause
   (months, crime types, units, methods: every query new, so each is computed); a "busy" 503
   with Retry-After is what that analyst gets when the server is saturated, and they wait as told.

Target: every p99 < 300 ms with zero errors for the N clients. Bounded: every request times out
after 30 s.

    python benchmarks/dashboard_load.py                     # 200 clients x 10 requests
    python benchmarks/dashboard_load.py --clients 50 --requests 4
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

ANALYST, OFFICER, VARIER = "bench", "bench_pc", "bench_varier"
PASSWORD = "bench-password-123"
TARGET_P99_MS = 300.0
CRIME_TYPES = ("Burglary", "Robbery", "Vehicle crime", "Shoplifting", "Criminal damage and arson", "Drugs")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(workspace: Path) -> None:
    """Ingest the bundled data (once), store a hotspot run, create the users and today's patrols."""
    from gripkit import Workspace, datasets
    from gripkit.dashboard.auth import add_user, get_user
    from gripkit.dashboard.data import assign_patrol
    from gripkit.hotspots.find import find_hotspots
    from gripkit.ingestion import ingest

    with Workspace(workspace) as ws:
        ingest(datasets.bedfordshire_street_files(), ws)
        top = find_hotspots(ws).hotspots["unit_id"].astype(str).head(5).tolist()
        for name, role in ((ANALYST, "analyst"), (VARIER, "analyst"), (OFFICER, "officer")):
            if get_user(ws, name) is None:
                add_user(ws, name, role, PASSWORD)
        for day, area in enumerate(top):
            when = date.today() + timedelta(days=day - 1)
            assign_patrol(ws, officer=OFFICER, area_id=area, day=when, start_time="10:00", minutes=15)


def start_server(workspace: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``gripkit serve`` on 127.0.0.1:port (stderr to ``log``); returns once it answers."""
    cmd = [
        sys.executable, "-c", "from gripkit.cli import main; main()", "serve",
        "--workspace", str(workspace), "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the dashboard did not start; its log:\n{log.read_text()[-2000:]}")


def login(base: str, user: str) -> str:
    """Log ``user`` in; return the session cookie value."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})
        return str(client.cookies["gripkit_session"])


@dataclass
class Tally:
    """Latencies (ms) by path, errors, and the varying analyst's answers."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    varied: dict[str, int] = field(default_factory=dict)


async def fetch(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, cookie: str, path: str
) -> tuple[int, dict[bytes, bytes]]:
    """One GET on an open keep-alive connection; returns the status and the headers."""
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: gripkit_session={cookie}\r\n"
            "Accept-Encoding: gzip, deflate, br\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    status = int(head.split(b" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:] if line)
    }
    await asyncio.wait_for(reader.readexactly(int(headers[b"content-length"])), 30)
    return status, headers


async def one_client(
    port: int, plan: list[tuple[str, str]], tally: Tally, seconds: float = 0.0, pause: float = 0.0
) -> None:
    """One client on its own keep-alive connection issuing the (cookie, path) GETs of ``plan``
    (over and over for ``seconds`` if given, ``pause`` seconds apart).

    A minimal HTTP/1.1 client on asyncio streams, so that the load generator costs far less CPU
    than the server it measures (both share this machine).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    until = time.perf_counter() + seconds
    try:
        for i, (cookie, path) in enumerate(itertools.cycle(plan) if seconds else plan):
            if seconds and time.perf_counter() > until:
                break
            if pause and i:
                await asyncio.sleep(pause)
            start = time.perf_counter()
            try:
                status, _ = await fetch(reader, writer, port, cookie, path)
                if status != 200:
                    tally.errors.append(f"HTTP {status} on {path}")
            except (TimeoutError, OSError, asyncio.IncompleteReadError, KeyError, ValueError) as exc:
                tally.errors.append(type(exc).__name__)
                break
            finally:
                key = path.split("?")[0]
                tally.latencies.setdefault(key, []).append((time.perf_counter() - start) * 1000)
    finally:
        writer.close()


def varied_queries() -> itertools.cycle[str]:
    """Map API queries that are all different (so each one is computed by the server)."""
    months = [f"{y}-{m:02d}" for y, m in ((2023, m) for m in range(5, 13))] + [
        f"2024-{m:02d}" for m in range(1, 5)
    ]
    queries = []
    for (i, first), crime in itertools.product(enumerate(months[:-1]), CRIME_TYPES):
        for last in months[i + 1 :: 3]:
            method = ("count", "gistar")[len(queries) % 2]
            unit = ("grid", "lsoa", "hex")[len(queries) % 3]
            queries.append(
                f"/api/hotspots?month_from={first}&month_to={last}&crime_type={crime.replace(' ', '+')}"
                f"&method={method}&unit={unit}"
            )
    return itertools.cycle(queries)


async def vary(port: int, cookie: str, stop: asyncio.Event, tally: Tally) -> None:
    """The analyst who keeps asking for new maps, waiting as told when the server says busy."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    queries = varied_queries()
    try:
        while not stop.is_set():
            try:
                status, headers = await fetch(reader, writer, port, cookie, next(queries))
            except (TimeoutError, OSError, asyncio.IncompleteReadError, KeyError, ValueError) as exc:
                tally.varied[type(exc).__name__] = tally.varied.get(type(exc).__name__, 0) + 1
                break
            tally.varied[str(status)] = tally.varied.get(str(status), 0) + 1
            if status == 503:
                await asyncio.sleep(float(headers.get(b"retry-after", b"1")))
    finally:
        writer.close()


async def run(
    port: int, plans: list[list[tuple[str, str]]], varier: str | None = None, seconds: float = 0.0
) -> tuple[Tally, float]:
    """All clients at once (and the varying analyst, if a cookie is given: then each client goes
    on for ``seconds``, pausing 50 ms between requests); returns the tally and the clients' wall
    time (s)."""
    tally = Tally()
    stop = asyncio.Event()
    background = asyncio.create_task(vary(port, varier, stop, tally)) if varier else None
    if background:
        await asyncio.sleep(1.0)  # the varying analyst is computing when the clients start
    start = time.perf_counter()
    pause = 0.05 if varier else 0.0
    await asyncio.gather(*(one_client(port, plan, tally, seconds, pause) for plan in plans))
    wall = time.perf_counter() - start
    stop.set()
    if background:
        await background
    return tally, wall


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(title: str, tally: Tally, wall: float) -> bool:
    """Print one scenario's numbers per path; True if every p99 met the target with no errors."""
    total = sum(len(v) for v in tally.latencies.values())
    print(
        f"\n{title}: {total:,} requests in {wall:.1f} s ({total / wall:.0f} req/s), "
        f"errors {len(tally.errors)}" + (f" {sorted(set(tally.errors))[:5]}" if tally.errors else "")
    )
    met = not tally.errors
    for path, values in sorted(tally.latencies.items()):
        p50, p90, p99 = (percentile(values, q) for q in (50, 90, 99))
        ok = p99 < TARGET_P99_MS
        met = met and ok
        print(
            f"  {path:<16} n {len(values):>5}  p50 {p50:6.1f}  p90 {p90:6.1f}  p99 {p99:6.1f}  "
            f"max {max(values):7.1f}  mean {statistics.fmean(values):6.1f} ms  {'ok' if ok else 'SLOW'}"
        )
    if tally.varied:
        print(f"  varying analyst's answers: {dict(sorted(tally.varied.items()))}")
    return met


def main() -> int:
    """Parse options, run the scenarios, print the numbers; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    parser.add_argument("--workspace", type=Path, default=None, help="reuse a workspace file")
    parser.add_argument("--mixed-seconds", type=float, default=20.0, help="length of the mixed run")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 1 <= args.requests <= 100:
        parser.error("--clients must be 1-1000 and --requests 1-100")
    folder = Path(tempfile.mkdtemp(prefix="gripkit-bench-"))
    workspace = args.workspace or folder / "gripkit.duckdb"
    prepare(workspace)
    port = free_port()
    server = start_server(workspace, port, folder / "server.log")
    base = f"http://127.0.0.1:{port}"
    api = "/api/hotspots?limit=500"
    n, met = args.requests, True
    try:
        analyst, officer, varier = login(base, ANALYST), login(base, OFFICER), login(base, VARIER)
        first = time.perf_counter()
        size = len(httpx.get(base + api, cookies={"gripkit_session": analyst}, timeout=120).content)
        print(
            f"first map request (computes hotspots): {(time.perf_counter() - first) * 1000:.0f} ms, "
            f"{size:,} bytes; {args.clients} clients x {n} requests, {os.cpu_count()} CPUs"
        )
        for title, cookie, path in (
            ("map page", analyst, "/"),
            ("officer page", officer, "/officer"),
            ("map API", analyst, api),
        ):
            tally, wall = asyncio.run(run(port, [[(cookie, path)] * n for _ in range(args.clients)]))
            met = report(f"{title} GET {path}", tally, wall) and met
        mixed = [(analyst, "/"), (officer, "/officer"), (analyst, api), (officer, "/api/me")]
        plans = [[mixed[(c + i) % len(mixed)] for i in range(n)] for c in range(args.clients)]
        tally, wall = asyncio.run(run(port, plans, varier, args.mixed_seconds))
        met = report("mixed, while another analyst varies map queries", tally, wall) and met
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"\ntarget p99 < {TARGET_P99_MS:.0f} ms and zero errors on every path: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
