"""No file access from the web: the map's ``harm`` filter takes only known table names, never a path.

The probe that found the flaw read ``/proc/self/environ`` through ``/api/hotspots?harm=...`` (the
server's environment came back in the 400 body). Each request here must get a 400 that names the
parameter and quotes no file content: :data:`FILE_TEXT` is text those files hold (``PATH=`` of an
environment, ``root:`` of /etc/passwd, the header and a row of a harm CSV), none of which may appear.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gripkit.harm.tables import list_harm_tables

Client = Callable[[str], httpx.Client]
FILE_TEXT = ("PATH=", "HOME=", "root:", "Crime ID", "crime_type", "Violence and sexual offences,")


def _paths(tmp_path: Path) -> list[str]:
    csv = tmp_path / "table.csv"
    csv.write_text("crime_type,weight\nViolence and sexual offences,1\n")
    return ["/proc/self/environ", "/etc/passwd", str(csv), str(tmp_path / "missing.csv"), "../../etc/passwd",
            "cchi.csv", os.devnull]


def test_harm_paths_refused_without_file_content(as_user: Client, tmp_path: Path) -> None:
    client = as_user("ana")
    bodies = []
    for path in _paths(tmp_path):
        response = client.get("/api/hotspots", params={"harm": path})
        assert response.status_code == 400, (path, response.status_code)
        text = response.text
        assert "harm" in text and not any(marker in text for marker in FILE_TEXT), (path, text[:300])
        bodies.append(text.replace(path[:40], "<path>"))
    # an existing and a missing path get the same answer: the body does not tell whether a path exists
    assert bodies[2] == bodies[3]


@pytest.mark.parametrize("name", sorted(set(list_harm_tables()) & {"cchi", "ons_css"}))
def test_known_harm_table_names_accepted(as_user: Client, name: str) -> None:
    response = as_user("ana").get("/api/hotspots", params={"harm": name, "limit": 5})
    assert response.status_code == 200, response.text[:300]
