"""The annotation rules: what a change may do, refused with a precise message otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from twinverse.collab import check_changes
from twinverse.errors import InputError, PermissionDenied

TWINS = {"p/filler", "p/capper"}


def note(**kw: Any) -> dict[str, Any]:
    base = {"id": "n1", "twin": "p/filler", "text": "seal worn", "author": "Ada", "author_id": "did:ada",
            "created": 1764740000000, "status": "open"}  # fmt: skip
    return {**base, **kw}


def test_create_resolve_reopen_edit_are_named_for_the_log() -> None:
    created = check_changes({}, {"n1": note()}, author_id="did:ada", twins=TWINS)
    assert [(c.action, c.note, c.twin, c.status) for c in created] == [("annotation.create", "n1", "p/filler", "open")]
    assert created[0].text_sha256 == "312b3ce4a6db5522fc5100662b49afcf5cd38e265ff1d876c583c0862f92b3b8"
    resolved = note(status="resolved", resolved_by="Bo", resolved_at=1)
    assert [c.action for c in check_changes({"n1": note()}, {"n1": resolved}, author_id="did:bo", twins=TWINS)] == [
        "annotation.resolve"
    ]
    assert [c.action for c in check_changes({"n1": resolved}, {"n1": note()}, author_id="did:bo", twins=TWINS)] == [
        "annotation.reopen"
    ]
    edited = note(text="seal replaced")
    assert [c.action for c in check_changes({"n1": note()}, {"n1": edited}, author_id="did:ada", twins=TWINS)] == [
        "annotation.edit"
    ]
    assert check_changes({"n1": note()}, {"n1": note()}, author_id="did:bo", twins=TWINS) == []


@pytest.mark.parametrize(
    ("before", "after", "error", "message"),
    [
        ({"n1": note()}, {}, PermissionDenied, "annotations are resolved, not deleted: 'n1'"),
        ({}, {"n1": note(author_id="did:eve")}, PermissionDenied,
         "annotation 'n1': 'author_id' must be your own identity (did:ada)"),
        ({}, {"n1": note(twin="p/nowhere")}, InputError,
         "annotation 'n1': 'twin' must name a twin of this plant, got 'p/nowhere'"),
        ({}, {"n1": note(text="  ")}, InputError, "annotation 'n1': 'text' must be 1 to 2000 characters"),
        ({}, {"n1": note(text="x" * 2001)}, InputError, "annotation 'n1': 'text' must be 1 to 2000 characters"),
        ({}, {"n1": note(status="done")}, InputError, "annotation 'n1': 'status' must be one of ['open', 'resolved']"),
        ({}, {"n1": note(status="resolved")}, InputError, "annotation 'n1': a new annotation is open"),
        ({}, {"n1": note(id="n2")}, InputError, "annotation 'n1': 'id' must equal its key"),
        ({}, {"n1": note(colour="red")}, InputError, "annotation 'n1': unknown field(s) ['colour']"),
        ({}, {"n1": "just text"}, InputError, "annotation 'n1': must be an object"),
        ({"n1": note()}, {"n1": note(twin="p/capper")}, PermissionDenied, "annotation 'n1': 'twin' cannot change"),
    ],
)
def test_a_bad_change_is_refused_with_its_reason(
    before: dict[str, Any], after: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as exc:
        check_changes(before, after, author_id="did:ada", twins=TWINS)
    assert exc.value.message == message  # type: ignore[attr-defined]


def test_only_the_author_edits_the_text() -> None:
    with pytest.raises(PermissionDenied, match="only its author edits its text"):
        check_changes({"n1": note()}, {"n1": note(text="mine now")}, author_id="did:bo", twins=TWINS)
