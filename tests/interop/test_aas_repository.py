"""Invariants of the AAS API views (Hypothesis): paging, identifiers, idShortPaths."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinverse.errors import InputError, NotFoundError
from twinverse.interop.aas import AasRepository, b64decode_id, b64encode_id, build_environment
from twinverse.model import Plant


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 60), limit=st.integers(1, 25))
def test_paging_visits_every_item_once_in_order(n: int, limit: int) -> None:
    items = list(range(n))
    seen: list[int] = []
    cursor = None
    for _ in range(n + 2):
        page = AasRepository.page(items, limit, cursor)
        assert len(page["result"]) <= limit
        seen += page["result"]
        cursor = page["paging_metadata"].get("cursor")
        if cursor is None:
            break
    assert seen == items


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_identifiers_round_trip_through_base64url(text: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates are no identifier
        return
    encoded = b64encode_id(text)
    assert "=" not in encoded and "/" not in encoded and "+" not in encoded
    assert b64decode_id(encoded) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_decoding_anything_is_an_identifier_or_an_input_error(text: str) -> None:
    try:
        ident = b64decode_id(text)
    except InputError:
        return
    assert b64encode_id(ident) == text.rstrip("=")


@pytest.fixture(scope="module")
def repo(plant: Plant) -> AasRepository:
    return AasRepository(build_environment(plant))


def test_every_listed_path_resolves(repo: AasRepository) -> None:
    for ident in repo.submodels:
        sm = repo.submodel(b64encode_id(ident))
        paths = repo.submodel_view(sm, "$path")
        assert len(paths) == len(set(paths))
        for path in paths:
            element, _ = repo.resolve(sm, path)
            assert element.get("idShort") == path.rsplit(".", 1)[-1]
            ref = repo.element(sm, path, "$reference")
            assert [k["value"] for k in ref["keys"][1:]] == path.split(".")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_id_short_path_is_found_or_refused_cleanly(repo: AasRepository, path: str) -> None:
    sm = repo.submodel(b64encode_id("urn:twinverse:bottling:sm:TechnicalData:bottling/line1/filler"))
    with contextlib.suppress(InputError, NotFoundError):
        repo.element(sm, path, None)
