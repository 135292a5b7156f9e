"""The docstring examples of conformance, root causes, reps, discounts, funnel and payments run as shown."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["analysis.conformance", "analysis.root_causes", "analysis.performance", "analysis.discounts",
           "analysis.funnel", "analysis.payments"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
