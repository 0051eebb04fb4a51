"""Every example in gripkit's docstrings runs and prints what it says (doctest, module by module)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gripkit

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(gripkit.__path__, prefix="gripkit.") if not info.ispkg
) + sorted(info.name for info in pkgutil.walk_packages(gripkit.__path__, prefix="gripkit.") if info.ispkg)


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
