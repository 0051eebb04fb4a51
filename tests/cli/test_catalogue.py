"""The option catalogue (gripkit.cli.options), checked on every command the CLI registers.

Every command and subcommand of ``typer.main.get_command(gripkit.cli.app)`` is introspected, so a
new command is held to the same rules without touching this file: ``--json`` everywhere (one JSON
object on stdout), ``--months`` only as a FROM..TO string (trailing windows are ``--last N``),
``--alpha`` only as a significance level, ``-o/--out`` on every command that writes a file,
``--harm`` defaulting to ``cchi`` everywhere, ``--force`` on every command that reads crimes, and one
type per flag across commands. Then the small commands' ``--json`` output, and the CLI's mapping of
the library's parameter names onto the flags a user typed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main
from typer.testing import CliRunner

from gripkit.cli import app, command_flags
from gripkit.cli.options import HARM_DEFAULT, flag_message
from gripkit.workspace import Workspace

ROOT = typer.main.get_command(app)


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    runs_alone = path and getattr(command, "invoke_without_command", False)  # `gripkit plan -o x.csv`
    if runs_alone or not subcommands:
        yield " ".join(path), command
    if subcommands:
        for name, sub in sorted(subcommands.items()):
            yield from _walk(sub, (*path, name))


COMMANDS: dict[str, Any] = dict(_walk(ROOT, ()))
NAMES = sorted(COMMANDS)

#: Commands that write files (their main output, or extra pages, plots, calendars, tables).
WRITERS = {
    "allocate",
    "backtest",
    "demo",
    "evaluate",
    "gps compliance",
    "gps visits",
    "hotspots",
    "national",
    "plan",
    "power",
    "quarantine",
    "report",
}
#: Options whose value is a file a command writes (a command with one is a writer too).
OUTPUT_PARAMS = {"out", "html", "plot", "forest", "ics", "briefing", "schedule", "sensitivity_out"}
#: Commands that read crimes (from the workspace, or the bundled crimes for the demo).
# commands that select crimes for a computation; `national` computes every force by design and
# `report` renders stored results (the runs it shows record their own force), so neither selects one
READS_CRIMES = {"allocate", "backtest", "demo", "hotspots", "plan", "power"}


def options(command: Any) -> dict[str, Any]:
    """Long flag -> option of ``command`` (arguments left out)."""
    found = {}
    for param in command.params:
        if param.param_type_name != "option":
            continue
        for flag in param.opts:
            if flag.startswith("--"):
                found[flag] = param
    return found


def python_type(param: Any) -> Any:
    """The Python type a parameter was declared with, ``X | None`` unwrapped to ``X``."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is None:  # click's own ParamType (older typer): compare by its name
        return getattr(getattr(param, "type", None), "name", None)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args[0] if len(args) == 1 else annotation
    return annotation


def test_the_walk_finds_commands_and_subcommands() -> None:
    assert {"hotspots", "demo", "info", "serve", "users add", "users list", "gps visits", "harm show"} <= set(
        COMMANDS
    )
    # leaves, and groups that also run alone (their own options are checked like any command's)
    assert all(not getattr(c, "commands", None) or c.invoke_without_command for c in COMMANDS.values())
    assert "plan" in COMMANDS and "sources" in COMMANDS


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_json(name: str) -> None:
    flags = options(COMMANDS[name])
    assert "--json" in flags, f"gripkit {name} has no --json (cli.common.JsonOption)"
    assert python_type(flags["--json"]) is bool


@pytest.mark.parametrize("name", NAMES)
def test_months_is_a_window_and_trailing_is_last(name: str) -> None:
    flags = options(COMMANDS[name])
    if "--months" in flags:
        assert python_type(flags["--months"]) is str, (
            f"gripkit {name} --months is {python_type(flags['--months'])}: --months takes FROM..TO "
            "(MonthsOption); a trailing number of months is --last N (LastOption)"
        )
    if "--last" in flags:
        assert python_type(flags["--last"]) is int


@pytest.mark.parametrize("name", NAMES)
def test_alpha_is_only_a_significance_level(name: str) -> None:
    flags = options(COMMANDS[name])
    if "--alpha" in flags:
        assert "significance" in (flags["--alpha"].help or "").lower(), (
            f"gripkit {name} --alpha means something else; the NB parameter is --dispersion"
        )


@pytest.mark.parametrize("name", NAMES)
def test_every_command_that_writes_a_file_has_out(name: str) -> None:
    command = COMMANDS[name]
    writes = name in WRITERS or any(p.name in OUTPUT_PARAMS for p in command.params)
    flags = options(command)
    if writes:
        assert "--out" in flags, f"gripkit {name} writes files but has no -o/--out"
    if "--out" in flags:
        assert "-o" in flags["--out"].opts, f"gripkit {name} --out has no -o"
        assert python_type(flags["--out"]) is Path


@pytest.mark.parametrize("name", NAMES)
def test_harm_defaults_to_cchi_everywhere(name: str) -> None:
    flags = options(COMMANDS[name])
    if "--harm" in flags:
        assert HARM_DEFAULT == "cchi"
        assert flags["--harm"].default == HARM_DEFAULT, (
            f"gripkit {name} --harm defaults to {flags['--harm'].default!r}"
        )


@pytest.mark.parametrize("name", sorted(READS_CRIMES))
def test_every_command_that_reads_crimes_has_force(name: str) -> None:
    flags = options(COMMANDS[name])
    assert "--force" in flags, f"gripkit {name} reads crimes but has no --force (ForceOption)"
    assert python_type(flags["--force"]) is str  # a force's name, never a yes/no "overwrite"


def test_one_type_and_one_short_name_per_flag() -> None:
    """A flag means one thing: the same Python type and the same short alias in every command."""
    seen: dict[str, dict[str, list[str]]] = {}
    for name, command in COMMANDS.items():
        for flag, param in options(command).items():
            shorts = ",".join(sorted(o for o in param.opts if not o.startswith("--")))
            kind = f"{getattr(python_type(param), '__name__', python_type(param))} [{shorts}]"
            seen.setdefault(flag, {}).setdefault(kind, []).append(name)
    clashes = {flag: kinds for flag, kinds in seen.items() if len(kinds) > 1}
    assert clashes == {}


def test_workspace_option_is_the_same_everywhere() -> None:
    for name, command in COMMANDS.items():
        flags = options(command)
        if "--workspace" in flags:
            assert set(flags["--workspace"].opts) == {"--workspace", "-w"}, name
            assert flags["--workspace"].envvar == "GRIPKIT_WORKSPACE", name


# ----------------------------------------------------------------- library parameters -> flags


def test_command_flags_maps_parameters_to_the_running_commands_flags() -> None:
    flags = command_flags(["hotspots", "-o", "x.parquet", "--cell-size", "-5"])
    assert flags["cell_size"] == "--cell-size" and flags["out"] == "--out"
    assert command_flags(["users", "add", "pc_smith"])["password_stdin"] == "--password-stdin"
    assert command_flags(["no-such-command"]) == {}
    assert (
        flag_message("'cell_size' must be > 0; 'other' stays", flags)
        == "--cell-size must be > 0; 'other' stays"
    )


def _gripkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from gripkit.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GRIPKIT_WORKSPACE": str(cwd / "w.duckdb"), "COLUMNS": "80"},
    )


def test_a_library_error_names_the_flag_the_user_typed(tmp_path: Path) -> None:
    # What the library raises (Python's spelling), checked first:
    from gripkit.errors import InputError
    from gripkit.hotspots.find import find_hotspots

    with (
        Workspace(tmp_path / "lib.duckdb") as ws,
        pytest.raises(InputError, match=r"^'cell_size' must be > 0"),
    ):
        find_hotspots(ws, unit="grid", cell_size=-5)
    # ... and what the CLI prints for it: the flag, on one line (no wrapping at 80 columns)
    run = _gripkit("hotspots", "-o", "x.parquet", "--cell-size", "-5", cwd=tmp_path)
    assert run.returncode == 1
    assert "--cell-size must be > 0" in run.stderr and "'cell_size'" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert run.stdout == ""


# ----------------------------------------------------------------- the small commands' --json


def _json(args: list[str], stdin: str | None = None) -> Any:
    result = CliRunner().invoke(app, args, input=stdin)
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)  # the whole of stdout is one JSON object


def test_info_lists_stored_results_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Workspace(path) as ws:
        ws.record_result(
            "hotspots", params={"harm_table": "cchi"}, payload={}, harm_table="cchi", summary="first"
        )
        ws.record_result("power", params={}, payload={}, summary="second")
    payload = _json(["info", "-w", str(path), "--json"])
    assert payload["total"] == 2
    assert [(r["result_id"], r["kind"], r["summary"]) for r in payload["results"]] == [
        (2, "power", "second"),
        (1, "hotspots", "first"),
    ]
    assert payload["results"][1]["harm_table"] == "cchi" and payload["results"][0]["created_at"]
    only = _json(["info", "-w", str(path), "--json", "--kind", "hotspots"])
    assert [r["result_id"] for r in only["results"]] == [1]
    assert _json(["info", "-w", str(path), "--json", "--limit", "1"])["results"][0]["result_id"] == 2
    text = CliRunner().invoke(app, ["info", "-w", str(path)])
    assert text.exit_code == 0 and "power" in text.stdout and "second" in text.stdout
    bad = CliRunner().invoke(app, ["info", "-w", str(path), "--kind", "dosage"])
    assert bad.exit_code != 0 and "which nothing writes" in str(bad.exception)


def test_users_json(tmp_path: Path) -> None:
    w = str(tmp_path / "w.duckdb")
    added = _json(
        ["users", "add", "pc_json", "--role", "officer", "--password-stdin", "-w", w, "--json"],
        stdin="a long passphrase\n",
    )
    assert added == {"action": "added", "user": "pc_json", "role": "officer"}
    assert _json(["users", "list", "-w", w, "--json"]) == {
        "users": [{"user": "pc_json", "role": "officer", "disabled": False}]
    }
    changed = _json(
        ["users", "passwd", "pc_json", "--password-stdin", "-w", w, "--json"], stdin="another one!\n"
    )
    assert changed == {"action": "password set", "user": "pc_json"}
    assert _json(["users", "remove", "pc_json", "-w", w, "--json"]) == {
        "action": "removed",
        "user": "pc_json",
    }
    assert _json(["users", "list", "-w", w, "--json"]) == {"users": []}


def test_harm_and_status_json(tmp_path: Path) -> None:
    tables = _json(["harm", "list", "--json"])["tables"]
    assert {"cchi", "ons_css"} <= {t["name"] for t in tables}
    assert all(len(t["sha256"]) == 64 for t in tables)
    shown = _json(["harm", "show", "cchi", "--json"])
    robbery = [w for w in shown["weights"] if w["crime_type"] == "Robbery"]
    assert robbery and robbery[0]["weight"] == 365.0  # docs/domain.md, Harm weights (CCHI)
    assert _json(["harm", "show", "none", "--json"])["weights"] is None
    w = str(tmp_path / "w.duckdb")
    assert _json(["quarantine", "-w", w, "--json"]) == {"rows": 0, "reason": None, "head": []}
    assert _json(["status", "-w", w, "--json"])["months"] is None


def test_serve_json_announces_the_url_once_listening(tmp_path: Path) -> None:
    Workspace(tmp_path / "w.duckdb").close()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gripkit.cli import main; main()",
            "serve",
            "-w",
            str(tmp_path / "w.duckdb"),
            "--port",
            "0",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed only when the socket listens
        assert line, proc.stderr.read() if proc.stderr else ""
        announced = json.loads(line)
        assert announced["host"] == "127.0.0.1" and announced["port"] > 0 and announced["users"] == 0
        assert announced["url"] == f"http://127.0.0.1:{announced['port']}/"
        assert httpx.get(announced["url"] + "login", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rest = proc.stdout.read() if proc.stdout else ""
    assert rest == ""  # one JSON object on stdout, nothing else


def test_demo_json_with_harm_and_force(tmp_path: Path) -> None:
    """The demo on the bundled 12 months, counting crimes (--harm none), Bedfordshire only."""
    run = _gripkit("demo", "-o", "d", "--harm", "none", "--force", "Bedfordshire", "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    payload = json.loads(run.stdout)
    assert set(payload) == {"out", "files", "ingest", "hotspots", "summary"}
    assert Path(tmp_path / payload["files"]["page"]).stat().st_size > 0
    meta = payload["hotspots"]["meta"]
    assert meta["harm_table"] == "none" and meta["request"]["force"] == "Bedfordshire"
    assert meta["crimes"] == payload["ingest"]["loaded"]  # one force bundled: every loaded crime counts
    with Workspace(tmp_path / "d" / "gripkit.duckdb") as ws:
        stored = ws.latest_result("hotspots")
    assert stored is not None and stored.summary == payload["summary"]
