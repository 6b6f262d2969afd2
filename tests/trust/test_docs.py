"""docs/trust.md tells the truth about roles."""

from __future__ import annotations

from pathlib import Path

from twinverse.trust import ROLE_PERMISSIONS, Permission, Role

DOC = Path(__file__).parents[2] / "docs" / "trust.md"


def test_role_table_matches_the_code() -> None:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells[1:]
    assert set(rows) == {p.value for p in Permission}
    for i, role in enumerate(Role):
        documented = {p for p, marks in rows.items() if marks[i] == "✓"}
        assert documented == {p.value for p in ROLE_PERMISSIONS[role]}, role
