"""The examples in the trust modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import logging

import pytest

MODULES = ["identity", "ledger", "licenses", "merkle", "service"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"twinverse.trust.{name}")
    logging.disable(logging.WARNING)  # the examples' throwaway keys are unencrypted on purpose
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        logging.disable(logging.NOTSET)
    assert result.attempted > 0 and result.failed == 0
