"""The README's Python examples run and print what they say.

Every ```python block of README.md runs, in order, in one namespace (a tour may continue across
blocks), in a temporary folder (the files it writes go there): blocks written as ``>>>`` sessions run
with :mod:`doctest` (their printed output is checked, as tests/test_docstring_examples.py does for
the modules' docstrings); other blocks are executed as scripts.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced ```python block."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in BLOCK.finditer(text)]


def test_blocks_are_found() -> None:
    sample = "intro\n```python\n>>> 1 + 1\n2\n```\ntext\n```bash\nls\n```\n```python\nx = 1\n```\n"
    assert python_blocks(sample) == [(3, ">>> 1 + 1\n2\n"), (11, "x = 1\n")]


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert any(">>>" in code for _, code in blocks), "the README's Python tour has no >>> examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme"}
    parser = doctest.DocTestParser()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    failed = []
    for line, code in blocks:
        if ">>>" in code:
            test = parser.get_doctest(code, namespace, f"README.md:{line}", str(README), line - 1)
            result = runner.run(test, clear_globs=False)
            namespace.update(test.globs)  # DocTest works on a copy of the namespace
            if result.failed:
                failed.append(f"{result.failed} of {result.attempted} examples in the block at line {line}")
        else:
            exec(compile(code, f"README.md:{line}", "exec"), namespace)
    assert not failed, "README.md examples failed (printed above): " + "; ".join(failed)
