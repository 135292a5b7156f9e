"""The docstring examples of the core analysis verbs run and show what they claim."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["analysis.log", "analysis.variants", "analysis.process_map", "analysis.throughput",
           "analysis.calendar", "analysis.bottlenecks", "analysis.rework"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
