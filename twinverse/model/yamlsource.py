"""Read YAML while remembering the line of every node.

PyYAML's composer keeps a ``start_mark`` on every node; we build plain Python data
from the node tree and a map from field path (a tuple of keys and indices) to line,
so that every later error can name ``file:line`` and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Location, ModelLoadError, Problem

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "LocatedDoc", "PathKey", "format_path", "read_yaml"]

PathKey = tuple[str | int, ...]

_FLOAT12 = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$")

#: Most YAML nodes aliases may add to a document: a node reached again through an alias
#: counts again each time (a plant file uses few aliases; its own nodes do not count).
MAX_NODES = 1_000_000
#: Deepest nesting of mappings and lists; a plant nests a few levels per twin level.
MAX_DEPTH = 100
#: Largest plant file (64 MiB); a plant of 300,000 twins takes about 10 MB.
MAX_FILE_BYTES = 64 * 1024 * 1024


class _TooLarge(Exception):
    def __init__(self, location: Location) -> None:
        super().__init__(str(location))
        self.location = location


class _TooDeep(_TooLarge):
    pass


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
    #: Problems found while reading (duplicate keys, bad tags) when read with ``strict=False``.
    problems: list[Problem] = field(default_factory=list)

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
        self._open: set[int] = set()  # collections being built: an alias to one is a cycle
        self._seen: set[int] = set()  # nodes built once: building one again is an alias expanding
        self._count = 0

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if id(node) in self._seen:
            self._count += 1
        else:
            self._seen.add(id(node))
        if self._count > MAX_NODES:
            # Aliases share nodes, so a few lines can expand to billions ("billion laughs").
            raise _TooLarge(self._loc(node, path))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            if len(path) >= MAX_DEPTH:
                raise _TooDeep(self._loc(node, path))
            if id(node) in self._open:
                self.problems.append(Problem("an alias refers to a node that contains it", self._loc(node, path)))
                return None
            self._open.add(id(node))
            try:
                return self._build_collection(node, path)
            finally:
                self._open.discard(id(node))
        if isinstance(node, yaml.ScalarNode):
            # YAML 1.2 booleans only: 'off', 'on', 'yes', 'no' stay strings (a state named
            # 'off' must not turn into False).
            if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
                return node.value
            # YAML 1.2 floats: PyYAML (YAML 1.1) reads a plain '1e3' or '1.0e12' as a string.
            # (A plain scalar's style is None from PyYAML's parser, "" from libyaml's.)
            if node.tag == "tag:yaml.org,2002:str" and not node.style and _FLOAT12.match(node.value):
                return float(node.value)
            try:
                return self._scalars.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError:
                self.problems.append(Problem(f"unsupported YAML tag {node.tag!r}", self._loc(node, path)))
                return None
            except ValueError:  # e.g. an integer of more digits than Python converts (4,300)
                shown = node.value if len(node.value) <= 40 else f"{node.value[:20]}…({len(node.value)} characters)"
                self.problems.append(Problem(f"value {shown} is not a usable {node.tag.rsplit(':', 1)[-1]}",
                                             self._loc(node, path)))
                return None
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover

    def _build_collection(self, node: yaml.MappingNode | yaml.SequenceNode, path: PathKey) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    msg = "YAML merge keys ('<<') are not supported; use 'extends' to share a type's definition"
                    self.problems.append(Problem(msg, self._loc(key_node, (*path, "<<"))))
                    continue
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
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]

    def _loc(self, node: yaml.Node, path: PathKey) -> Location:
        return Location(self.file, node.start_mark.line + 1, format_path(path) or None)


def _deepest_line(text: str) -> int | None:
    """The line where bracket nesting first passes 100 levels (where to look), if it does."""
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        for ch in line:
            depth += (ch in "[{") - (ch in "]}")
            if depth > 100:
                return number
    return None


def _compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``: libyaml's parser when PyYAML has it (ten times faster on a
    100,000-twin plant), PyYAML's own for a document libyaml refuses, so that errors keep
    PyYAML's wording and marks (and documents nested past libyaml's 1,000 levels get the
    located message below)."""
    if getattr(yaml, "__with_libyaml__", False):
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=yaml.CSafeLoader)
            return node
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def read_yaml(source: str | Path, *, text: str | None = None, strict: bool = True) -> LocatedDoc:
    """Parse a YAML file (or ``text`` named ``source``) into a :class:`LocatedDoc`.

    Raises :class:`ModelLoadError` naming file:line for syntax errors and, when ``strict``,
    for duplicate keys and unsupported tags; with ``strict=False`` those are returned in
    ``LocatedDoc.problems`` so that a caller can report them with its own findings.
    """
    name = str(source)
    if text is None:
        try:
            size = Path(source).stat().st_size
            if size > MAX_FILE_BYTES:
                raise ModelLoadError([Problem(f"file is {size} bytes, above the limit of {MAX_FILE_BYTES} bytes "
                                              "for a plant file", Location(name))])
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelLoadError([Problem(f"cannot read file: {exc.strerror}", Location(name))]) from exc
        except UnicodeDecodeError as exc:
            raise ModelLoadError([Problem("file is not UTF-8 text", Location(name))]) from exc
    elif len(text) > MAX_FILE_BYTES:
        raise ModelLoadError([Problem(f"text is {len(text)} characters, above the limit of {MAX_FILE_BYTES} "
                                      "for a plant file", Location(name))])
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        msg = f"YAML syntax error: {exc.problem or exc.context}"
        ctx = exc.context_mark
        if exc.problem and exc.context and ctx is not None and ctx.line + 1 != line:
            # The problem often shows lines after its cause (an unclosed bracket): name both.
            msg += f" ({exc.context} at line {ctx.line + 1})"
        raise ModelLoadError([Problem(msg, Location(name, line))]) from exc
    except yaml.YAMLError as exc:
        raise ModelLoadError([Problem(f"YAML error: {exc}", Location(name))]) from exc
    except RecursionError:  # PyYAML's parser recurses per nesting level
        line = _deepest_line(text)
        raise ModelLoadError([Problem("document is nested too deeply to read (hundreds of levels)",
                                      Location(name, line))]) from None
    if root is None:
        raise ModelLoadError([Problem("file is empty", Location(name, 1))])
    builder = _Builder(name)
    try:
        data = builder.build(root, ())
    except _TooDeep as exc:
        msg = f"document is nested deeper than {MAX_DEPTH} levels"
        raise ModelLoadError([Problem(msg, exc.location)]) from None
    except _TooLarge as exc:
        msg = f"aliases add more than {MAX_NODES} nodes to the document (aliases of aliases nested too deep?)"
        raise ModelLoadError([Problem(msg, exc.location)]) from None
    except RecursionError:
        raise ModelLoadError([Problem("document is nested too deeply", Location(name, 1))]) from None
    if builder.problems and strict:
        raise ModelLoadError(builder.problems)
    if not isinstance(data, Mapping):
        raise ModelLoadError([*builder.problems, Problem("top level must be a mapping", Location(name, 1))])
    return LocatedDoc(data, name, builder.lines, builder.problems)
