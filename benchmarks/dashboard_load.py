"""Load benchmark of the dashboard's map API: N concurrent clients on /api/hotspots, loopback only.

Starts ``gripkit serve`` in a subprocess on 127.0.0.1 (a free port) over a workspace holding the
bundled 12 months of Bedfordshire crime, logs one benchmark user in, then runs ``--clients``
concurrent HTTP clients (each its own connection) that each request the map API ``--requests``
times. Prints p50, p90, p99 and max latency, throughput and the error count; the target is
p99 < 300 ms with zero errors. Bounded: every request times out after 30 s, the run after
``--clients × --requests`` requests.

    python benchmarks/dashboard_load.py                     # 200 clients × 10 requests
    python benchmarks/dashboard_load.py --clients 50 --requests 4 --limit 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

USER, PASSWORD = "bench", "bench-password-123"
TARGET_P99_MS = 300.0


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(workspace: Path) -> None:
    """Ingest the bundled data (once), store a hotspot run and create the benchmark user."""
    from gripkit import Workspace, datasets
    from gripkit.dashboard.auth import add_user, get_user
    from gripkit.hotspots.find import find_hotspots
    from gripkit.ingestion import ingest

    with Workspace(workspace) as ws:
        ingest(datasets.bedfordshire_street_files(), ws)
        find_hotspots(ws)
        if get_user(ws, USER) is None:
            add_user(ws, USER, "analyst", PASSWORD)


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


def login(base: str) -> str:
    """Log the benchmark user in; return the session cookie value."""
    with httpx.Client(base_url=base) as client:
        page = client.get("/login").text
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token})
        return str(client.cookies["gripkit_session"])


async def one_client(port: int, cookie: str, path: str, n: int, out: list[float], errors: list[str]) -> None:
    """One client on its own keep-alive connection issuing ``n`` sequential GETs.

    A minimal HTTP/1.1 client on asyncio streams, so that the load generator costs far less CPU
    than the server it measures (both share this machine).
    """
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: gripkit_session={cookie}\r\n"
        "Accept: application/geo+json\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(n):
            start = time.perf_counter()
            try:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await asyncio.wait_for(reader.readexactly(length), 30)
                if status != 200:
                    errors.append(f"HTTP {status}")
            except (TimeoutError, OSError, asyncio.IncompleteReadError, StopIteration, ValueError) as exc:
                errors.append(type(exc).__name__)
                break
            finally:
                out.append((time.perf_counter() - start) * 1000)
    finally:
        writer.close()


async def run(
    port: int, cookie: str, path: str, clients: int, requests: int
) -> tuple[list[float], list[str], float]:
    """All clients at once; returns latencies (ms), errors and wall time (s)."""
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    await asyncio.gather(
        *(one_client(port, cookie, path, requests, latencies, errors) for _ in range(clients))
    )
    return latencies, errors, time.perf_counter() - start


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    """Parse options, run the benchmark, print the numbers; exit 1 if the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    parser.add_argument("--limit", type=int, default=500, help="features per response (the map's default)")
    parser.add_argument("--workspace", type=Path, default=None, help="reuse a workspace file")
    args = parser.parse_args()
    if not 1 <= args.clients <= 1000 or not 1 <= args.requests <= 100:
        parser.error("--clients must be 1-1000 and --requests 1-100")
    folder = Path(tempfile.mkdtemp(prefix="gripkit-bench-"))
    workspace = args.workspace or folder / "gripkit.duckdb"
    prepare(workspace)
    port = free_port()
    server = start_server(workspace, port, folder / "server.log")
    base = f"http://127.0.0.1:{port}"
    path = f"/api/hotspots?limit={args.limit}"
    try:
        cookie = login(base)
        first = time.perf_counter()
        size = len(httpx.get(base + path, cookies={"gripkit_session": cookie}, timeout=120).content)
        took = (time.perf_counter() - first) * 1000
        print(f"first request (computes hotspots): {took:.0f} ms, {size:,} bytes")
        latencies, errors, wall = asyncio.run(run(port, cookie, path, args.clients, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)
    p50, p90, p99 = (percentile(latencies, q) for q in (50, 90, 99))
    print(
        f"{args.clients} concurrent clients x {args.requests} requests on GET {path} ({os.cpu_count()} CPUs)"
    )
    print(
        f"requests {len(latencies):,}  errors {len(errors)}  wall {wall:.1f} s  "
        f"throughput {len(latencies) / wall:.0f} req/s"
    )
    print(
        f"latency ms: p50 {p50:.0f}  p90 {p90:.0f}  p99 {p99:.0f}  max {max(latencies):.0f}  "
        f"mean {statistics.fmean(latencies):.0f}"
    )
    met = p99 < TARGET_P99_MS and not errors
    print(
        f"target p99 < {TARGET_P99_MS:.0f} ms and zero errors: {'met' if met else 'NOT met'}"
        + (f" (errors: {sorted(set(errors))})" if errors else "")
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
