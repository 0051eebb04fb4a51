"""Attack benchmark of the dashboard's login limit, against a real ``gripkit serve`` subprocess.

Starts ``gripkit serve`` (shipped settings: 5 attempts per user name and 30 per client address per
15 minutes, no trusted proxy) on 127.0.0.1 over a new workspace with one analyst, then:

1. ``--guesses`` parallel logins for that analyst, all wrong but one (the real password, at a
   random place), each from its own connection and login form;
2. the same number of parallel logins with a spoofed ``X-Forwarded-For`` each (other user names,
   so only the per-address budget can stop them);
3. the real password from a browser that logged in before the attack (device cookie) and from a
   new browser.

Prints the status counts, the number of Argon2 checks the server made (the 401s plus any 303),
whether the real password got in during the attack, and the wall time. Expected (docs/security.md):
at most 5 checked in 1, the rest 429 with Retry-After; in 2, 30 minus the 5 of 1 (the address's
budget is shared by every user name) = 25 checked; in 3 the known browser logs in (303), the new
one waits (429).

    python benchmarks/login_limit.py                 # 200 guesses
    python benchmarks/login_limit.py --guesses 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

USER, PASSWORD = "analyst", "analyst-pass-123"


class Shared(httpx.HTTPTransport):
    """One connection pool for every client (a client's own costs ~0.1 s); closing keeps it."""

    def close(self) -> None:
        pass


def gripkit(*args: str, stdin: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from gripkit.cli import main; main()", *args],
        stdin=subprocess.PIPE if stdin is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def form_token(client: httpx.Client, headers: dict[str, str] | None = None) -> str:
    page = client.get("/login", headers=headers)
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def burst(
    url: str, transport: httpx.HTTPTransport, logins: list[tuple[str, str, dict[str, str]]]
) -> list[int]:
    """Post ``logins`` (user, password, headers) at the same moment, one browser each."""
    clients = [httpx.Client(base_url=url, transport=transport, timeout=120) for _ in logins]
    tokens = [form_token(c, h) for c, (_, _, h) in zip(clients, logins, strict=True)]
    barrier = threading.Barrier(len(logins))

    def post(i: int) -> int:
        user, password, headers = logins[i]
        barrier.wait()
        data = {"username": user, "password": password, "csrf_token": tokens[i]}
        return clients[i].post("/login", data=data, headers=headers).status_code

    with ThreadPoolExecutor(len(logins)) as pool:
        return list(pool.map(post, range(len(logins))))


def login(client: httpx.Client) -> int:
    data = {"username": USER, "password": PASSWORD, "csrf_token": form_token(client)}
    return client.post("/login", data=data).status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        ws = str(Path(tmp) / "w.duckdb")
        added = gripkit("users", "add", USER, "--role", "analyst", "--password-stdin", "-w", ws, stdin="")
        added.communicate(PASSWORD + "\n", timeout=120)
        server = gripkit("serve", "-w", ws, "--port", "0", "--json")
        try:
            assert server.stdout is not None
            url = json.loads(server.stdout.readline())["url"].rstrip("/")
            transport = Shared()
            known = httpx.Client(base_url=url, transport=transport, timeout=120)
            print(f"known browser logs in before the attack: {login(known)}")
            known.cookies.delete("gripkit_session")

            logins = [(USER, f"wrong-{i}", {}) for i in range(args.guesses)]
            logins[rng.randrange(args.guesses)] = (USER, PASSWORD, {})
            started = time.perf_counter()
            statuses = burst(url, transport, logins)
            took = time.perf_counter() - started
            counts = Counter(statuses)
            got_in = any(s == 303 for s, (_, p, _) in zip(statuses, logins, strict=True) if p == PASSWORD)
            print(
                f"1. {args.guesses} parallel guesses for one user (the real password among them): "
                f"{dict(sorted(counts.items()))}; checked {counts[401] + counts[303]}; real password got in: "
                f"{got_in}; {took:.1f} s"
            )

            spoofed = [
                (f"nobody{i}", "wrong", {"X-Forwarded-For": f"203.0.{i // 250}.{i % 250}"})
                for i in range(args.guesses)
            ]
            started = time.perf_counter()
            counts = Counter(burst(url, transport, spoofed))
            took = time.perf_counter() - started
            print(
                f"2. {args.guesses} parallel guesses, each claiming another X-Forwarded-For: "
                f"{dict(sorted(counts.items()))}; checked {counts[401]}; {took:.1f} s"
            )
            fresh = httpx.Client(base_url=url, transport=transport, timeout=120)
            print(f"3. real password, known browser: {login(known)}; new browser: {login(fresh)}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
