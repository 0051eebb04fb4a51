"""Helpers of the basemap tests: a local tile server and the real ``gripkit serve`` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

from gripkit import Workspace, datasets
from gripkit.dashboard.auth import add_user
from gripkit.ingestion import ingest

from dashboard_helpers import PASSWORDS  # isort: skip

TILE = re.compile(r"^/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")


def tile_png(z: int, x: int, y: int) -> bytes:
    """A 256 px test tile: pale green with a grey border and its z/x/y, so a screenshot shows the grid."""
    image = Image.new("RGB", (256, 256), (214, 232, 206))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 255, 255), outline=(120, 120, 120), width=2)
    draw.line((0, 128, 255, 128), fill=(170, 190, 230), width=6)  # a "road" across each tile
    draw.text((10, 10), f"{z}/{x}/{y}", fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class TileServer:
    """A loopback tile server on a free port: any ``/z/x/y.png`` gets a PNG; requests are recorded."""

    url: str = ""
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Referer)

    @property
    def template(self) -> str:
        return self.url + "/{z}/{x}/{y}.png"

    def tiles_served(self) -> int:
        return sum(1 for path, _ in self.requests if TILE.match(path))


@contextmanager
def tile_server() -> Iterator[TileServer]:
    """Run a :class:`TileServer` in a thread for the duration of the block."""
    record = TileServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                record.requests.append((self.path, self.headers.get("Referer")))
            found = TILE.match(self.path)
            if not found:
                self.send_error(404)
                return
            body = tile_png(*(int(v) for v in found.groups()))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    record.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        httpd.shutdown()
        httpd.server_close()


def bundled_workspace(path: Path) -> Path:
    """A closed workspace file of the 12 bundled months of Bedfordshire street crime (police.uk)
    and the users of :data:`dashboard_helpers.PASSWORDS`."""
    with Workspace(path) as ws:
        ingest(datasets.bedfordshire_street_files(), ws)
        for name, (role, password) in PASSWORDS.items():
            add_user(ws, name, role, password)
    return path


@dataclass
class Served:
    """A running ``gripkit serve``: its address, the JSON it announced and its process."""

    url: str
    announced: dict[str, object]
    proc: subprocess.Popen[str]


@contextmanager
def gripkit_serve(
    workspace: Path, *args: str, copy_to: Path | None = None, json_out: bool = True
) -> Iterator[Served]:
    """The real ``gripkit serve --port 0 --json`` over ``workspace`` (copied to ``copy_to`` first,
    so servers of several tests do not share a file), stopped on leaving.

    Without ``json_out`` the address is read from the start-up lines on stderr, and
    ``announced`` holds ``url`` and ``notice`` (the line after the address)."""
    if copy_to is not None:
        shutil.copy(workspace, copy_to)
        workspace = copy_to
    cmd = [sys.executable, "-c", "from gripkit.cli import main; main()"]  # the console script's entry
    cmd += ["serve", "-w", str(workspace), "--host", "127.0.0.1", "--port", "0", *args]
    cmd += ["--json"] if json_out else []
    env = {**os.environ, "COLUMNS": "400"}  # rich wraps stderr at 80 columns otherwise
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        if json_out:
            line = proc.stdout.readline()  # printed once the socket listens
            if not line:
                raise RuntimeError(f"gripkit serve did not start: {proc.stderr.read()[-2000:]}")
            announced = json.loads(line)
        else:
            lines = iter(proc.stderr.readline, "")
            found = next((m for m in map(re.compile(r"gripkit dashboard on (\S+)").search, lines) if m), None)
            if found is None:
                raise RuntimeError("gripkit serve did not start")
            announced = {"url": found.group(1), "notice": proc.stderr.readline().strip()}
        yield Served(str(announced["url"]).rstrip("/"), announced, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll ``predicate()`` until true (AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
