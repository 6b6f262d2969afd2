"""DTDL reference data (read where it is, in ../shared/data/dtdl) and the parsed RealEstateCore ontology."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twinverse.interop.dtdl import ModelSet, parse_models, read_dtdl_files


@pytest.fixture(scope="session")
def dtdl_cases(shared_data: Path) -> Path:
    return shared_data / "dtdl" / "dtdlparser-cases"


@pytest.fixture(scope="session")
def rec_docs(shared_data: Path) -> list[tuple[str, Any]]:
    return read_dtdl_files([shared_data / "dtdl" / "realestatecore"])


@pytest.fixture(scope="session")
def rec(rec_docs: list[tuple[str, Any]]) -> ModelSet:
    return parse_models(rec_docs)
