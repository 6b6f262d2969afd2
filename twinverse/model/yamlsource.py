"""Read YAML while remembering the line of every node.

PyYAML's composer keeps a ``start_mark`` on every node; we build plain Python data
from the node tree and a map from field path (a tuple of keys and indices) to line,
so that every later error can name ``file:line`` and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import Location, ModelLoadError, Problem

__all__ = ["LocatedDoc", "PathKey", "read_yaml", "format_path"]

PathKey = tuple[str | int, ...]


def format_path(path: PathKey) -> str:
    """``("twins", 0, "id")`` → ``twins[0].id``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LocatedDoc:
    """Plain YAML data plus the line of every field path."""

    data: Any
    file: str
    lines: dict[PathKey, int]

    def locate(self, path: PathKey) -> Location:
        """The location of ``path``, or of its nearest ancestor with a known line."""
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return Location(self.file, self.lines.get(probe, 1), format_path(tuple(path)) or None)

    def problem(self, path: PathKey, message: str) -> Problem:
        return Problem(message, self.locate(path))


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[PathKey, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")  # only used to resolve scalar tags

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, (str, int, float, bool)):
                    self.problems.append(
                        Problem("mapping keys must be scalars", self._loc(key_node, path))
                    )
                    continue
                skey = str(key)
                if skey in out:
                    self.problems.append(
                        Problem(f"duplicate key {skey!r}", self._loc(key_node, (*path, skey)))
                    )
                out[skey] = self.build(value_node, (*path, skey))
            self.lines.pop((*path, "<key>"), None)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode):
            # YAML 1.2 booleans only: 'off', 'on', 'yes', 'no' stay strings (a state named
            # 'off' must not turn into False).
            if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
                return node.value
            return self._scalars.construct_object(node, deep=True)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _loc(self, node: yaml.Node, path: PathKey) -> Location:
        return Location(self.file, node.start_mark.line + 1, format_path(path) or None)


def read_yaml(source: str | Path, *, text: str | None = None) -> LocatedDoc:
    """Parse a YAML file (or ``text`` named ``source``) into a :class:`LocatedDoc`.

    Raises :class:`ModelLoadError` naming file:line for syntax errors and duplicate keys.
    """
    name = str(source)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelLoadError([Problem(f"cannot read file: {exc.strerror}", Location(name))]) from exc
        except UnicodeDecodeError as exc:
            raise ModelLoadError([Problem("file is not UTF-8 text", Location(name))]) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        raise ModelLoadError([Problem(msg, Location(name, line))]) from exc
    except yaml.YAMLError as exc:
        raise ModelLoadError([Problem(f"YAML error: {exc}", Location(name))]) from exc
    if root is None:
        raise ModelLoadError([Problem("file is empty", Location(name, 1))])
    builder = _Builder(name)
    try:
        data = builder.build(root, ())
    except yaml.YAMLError as exc:
        raise ModelLoadError([Problem(f"YAML error: {exc}", Location(name))]) from exc
    if builder.problems:
        raise ModelLoadError(builder.problems)
    if not isinstance(data, Mapping):
        raise ModelLoadError([Problem("top level must be a mapping", Location(name, 1))])
    return LocatedDoc(data, name, builder.lines)
