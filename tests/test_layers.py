"""The shape of the code: floors, no cycles, no borrowed private names, small modules.

The import contract itself lives in ``pyproject.toml`` (``[tool.importlinter]``) and runs in
``make lint``; this test runs it too so that ``make test`` alone catches an upward import.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "twinverse"
#: The numba kernel is one compilation unit by design (see its docstring).
LONG_OK = {"twinverse/sim/kernel.py"}
MAX_LINES = 600


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contract_is_kept() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    if not Path(cmd[0]).exists() and shutil.which(cmd[0]) is None:
        pytest.fail("lint-imports (import-linter) is not installed: pip install -e '.[dev]'")
    r = subprocess.run([*cmd, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def test_no_module_imports_private_names_of_another() -> None:
    """``from x import _name`` across modules couples to what ``x`` may change at will."""
    offences = []
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _target(path, node)
                if not target.startswith("twinverse") or target == _module_name(path):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        offences.append(f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name} from {target}")
    assert offences == []


def test_private_name_check_finds_an_offence(tmp_path: Path) -> None:
    """The check above can fail: a planted private import is reported."""
    src = "from twinverse.core.clock import _hidden\n"
    node = ast.parse(src).body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _target(PACKAGE / "live" / "engine.py", node) == "twinverse.core.clock"
    rel = ast.parse("from ..core import _x\n").body[0]
    assert isinstance(rel, ast.ImportFrom)
    assert _target(PACKAGE / "live" / "engine.py", rel) == "twinverse.core"
    assert _target(PACKAGE / "live" / "__init__.py", ast.parse("from .engine import _y\n").body[0]) == (  # type: ignore[arg-type]
        "twinverse.live.engine"
    )


def test_modules_stay_small() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(ROOT)) not in LONG_OK
    }
    assert long == {}, f"split these modules (over {MAX_LINES} lines): {long}"


#: Third-party libraries only one package may import (the rest of twinverse stays free of them).
CONFINED = {"prometheus_client": "twinverse/api/"}


def test_confined_libraries_are_imported_only_where_allowed() -> None:
    """``prometheus_client`` lives in the API; core keeps dependency-free counters (core/metrics.py)."""
    offences = []
    for path in _modules():
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            for name in names:
                lib = name.split(".")[0]
                if lib in CONFINED and not rel.startswith(CONFINED[lib]):
                    offences.append(f"{rel}:{getattr(node, 'lineno', 0)}: imports {name}")
    assert offences == []
