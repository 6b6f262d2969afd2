"""Alarm rules managed over the API: the plant file's rules with the changes made since, persisted.

The plant file declares rules per type and per twin (:mod:`twinverse.model.rules`). A
:class:`RuleBook` adds the changes an engineer makes over the API and keeps them in an
append-only SQLite table (``alarm_rule_changes`` in ``<data_dir>/alarms.sqlite``), so they
survive a restart; the latest change of a (scope, target, rule) wins:

- **a type's rule** — created or replaced whole (``PUT``), or deleted (``DELETE``, also a
  rule of the plant file). It applies to the type and to every type extending it, the
  more specific type's change last.
- **a twin's override** — a partial document over the rule the twin inherits (``{limit: 75}``,
  ``{enabled: false}``), or a whole rule of the twin's own, as in the plant file. Deleting it
  returns the twin to the inherited rule.

Each document is checked exactly as the plant file's are (:func:`~twinverse.model.check_rule`,
the same messages with the field path). Effective rules, in order of precedence (last wins):
the plant file's type rules, the API's type rules, the plant file's twin overrides, the
API's twin overrides.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.clock import now_us
from ..errors import InputError, ModelLoadError, NotFoundError
from ..model import Plant, check_rule
from ..model.rules import AlarmRule

__all__ = ["RuleBook", "RuleChange", "rule_doc"]

log = logging.getLogger("twinverse.ops.rules")

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_rule_changes (seq INTEGER PRIMARY KEY, plant TEXT, scope TEXT, target TEXT,
    name TEXT, doc TEXT, user TEXT, ts INTEGER);
"""

#: One change: scope ("type" or "twin"), target (type name or twin id), rule name, document (None: deleted).
RuleChange = tuple[str, str, str, dict[str, Any] | None]


def rule_doc(rule: AlarmRule) -> dict[str, Any]:
    """A rule as the plant file would write it (defaults left out; ``for`` for seconds)."""
    return {"kind": rule.kind.value, **rule.model_dump(mode="json", by_alias=True, exclude_defaults=True)}


class RuleBook:
    """The rules of one plant, the plant file's with the API's changes; thread-safe."""

    def __init__(self, plant: Plant, path: Path | str = ":memory:",
                 on_change: Callable[[list[tuple[str, str, AlarmRule]]], object] | None = None) -> None:  # fmt: skip
        self.plant = plant
        #: Called with the new effective rules after every change (the platform recompiles the alarms).
        self.on_change = on_change
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._types: dict[str, dict[str, AlarmRule | None]] = {}
        self._twins: dict[str, dict[str, dict[str, Any] | None]] = {}
        rows = self._con.execute("SELECT scope, target, name, doc FROM alarm_rule_changes WHERE plant = ? "
                                 "ORDER BY seq", [plant.id]).fetchall()  # fmt: skip
        for scope, target, name, doc in rows:
            self._apply(scope, target, name, None if doc is None else json.loads(doc), strict=False)

    # -- effective rules -------------------------------------------------------------------
    def type_rules(self, type_name: str) -> dict[str, AlarmRule]:
        """The rules every twin of ``type_name`` gets (before twin overrides)."""
        ty = self._type(type_name)
        chain = []
        t: str | None = ty.name
        while t is not None and t in self.plant.types:
            chain.append(t)
            t = self.plant.types[t].extends
        out = dict(ty.alarms)
        for base in reversed(chain):
            for name, rule in self._types.get(base, {}).items():
                if rule is None:
                    out.pop(name, None)
                else:
                    out[name] = rule
        return out

    def twin_rules(self, twin_id: str) -> dict[str, AlarmRule]:
        """The rules of one twin (enabled or not), after every override."""
        return self._twin_rules(twin_id, None)

    def _twin_rules(self, twin_id: str, skip: str | None) -> dict[str, AlarmRule]:
        twin = self._twin(twin_id)
        out = {**self.type_rules(twin.type), **self.plant.twin_alarms.get(twin_id, {})}
        for name, raw in self._twins.get(twin_id, {}).items():
            if raw is None or name == skip:
                continue
            try:
                out[name] = check_rule(raw, self.plant.types[twin.type], ("twins", twin_id, "alarms", name),
                                       out.get(name))  # fmt: skip
            except ModelLoadError as exc:  # the rule it overrode changed since: the override waits
                log.warning("alarm rule override %s:%s no longer applies: %s", twin_id, name, exc)
        return out

    def overrides(self, twin_id: str) -> dict[str, dict[str, Any]]:
        """The API's override documents of one twin."""
        self._twin(twin_id)
        return {n: d for n, d in self._twins.get(twin_id, {}).items() if d is not None}

    def changed_types(self) -> dict[str, dict[str, AlarmRule | None]]:
        """The API's changes per type (None: deleted)."""
        return {t: dict(c) for t, c in self._types.items() if c}

    def rules(self) -> list[tuple[str, str, AlarmRule]]:
        """``(twin, rule name, rule)`` of every enabled rule, in twin order then rule name."""
        out: list[tuple[str, str, AlarmRule]] = []
        for t in self.plant.twins.values():
            rules = self.twin_rules(t.id)
            out.extend((t.id, name, rule) for name, rule in sorted(rules.items()) if rule.enabled)
        return out

    # -- changes ---------------------------------------------------------------------------
    def put_type(self, type_name: str, name: str, doc: Any, *, user: str | None = None) -> AlarmRule:
        """Create or replace the rule ``name`` of a type (a whole rule document)."""
        self._type(type_name)
        rule = self._check("type", type_name, name, doc)
        assert rule is not None
        self._record("type", type_name, name, rule_doc(rule), user)
        return rule

    def delete_type(self, type_name: str, name: str, *, user: str | None = None) -> None:
        """Delete the rule ``name`` of a type (and of the types extending it)."""
        if name not in self.type_rules(type_name):
            raise NotFoundError(f"type {type_name!r} has no alarm rule {name!r}")
        self._record("type", type_name, name, None, user)

    def put_twin(self, twin_id: str, name: str, doc: Any, *, user: str | None = None) -> AlarmRule:
        """Override the rule ``name`` of one twin (fields over the inherited rule), or add a rule of its own."""
        rule = self._check("twin", twin_id, name, doc)
        assert rule is not None
        self._record("twin", twin_id, name, dict(doc), user)
        return rule

    def delete_twin(self, twin_id: str, name: str, *, user: str | None = None) -> None:
        """Remove the API's override of ``name`` on one twin: it gets the inherited rule again."""
        if name not in self.overrides(twin_id):
            raise NotFoundError(f"twin {twin_id!r} has no override of alarm rule {name!r} made over the API")
        self._record("twin", twin_id, name, None, user)

    def _check(self, scope: str, target: str, name: str, doc: Any) -> AlarmRule | None:
        if not _NAME.match(name):
            raise InputError(f"a rule name may only hold letters, digits, '_', '-', '.' (got {name!r})")
        if not isinstance(doc, dict):
            raise InputError("an alarm rule is a JSON object, e.g. {\"kind\": \"hi\", \"signal\": \"temperature\", "
                             "\"limit\": 80}")  # fmt: skip
        if scope == "type":
            ty = self._type(target)
            rule = check_rule(doc, ty, ("types", target, "alarms", name))
            for sub in self.plant.types:  # the types extending it get the rule too: it must hold there
                if sub != target and self.plant.is_a(sub, target):
                    check_rule(doc, self.plant.types[sub], ("types", sub, "alarms", name))
            return rule
        twin = self._twin(target)
        base = self._twin_rules(target, skip=name).get(name)
        return check_rule(doc, self.plant.types[twin.type], ("twins", target, "alarms", name), base)

    def _record(self, scope: str, target: str, name: str, doc: dict[str, Any] | None, user: str | None) -> None:
        with self._lock:
            self._con.execute("INSERT INTO alarm_rule_changes (plant, scope, target, name, doc, user, ts) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?)",
                              [self.plant.id, scope, target, name, None if doc is None else json.dumps(doc), user,
                               now_us()])  # fmt: skip
            self._apply(scope, target, name, doc, strict=True)
            if self.on_change is not None:  # under the lock: concurrent changes recompile in their order
                self.on_change(self.rules())

    def _apply(self, scope: str, target: str, name: str, doc: dict[str, Any] | None, *, strict: bool) -> None:
        if scope == "type":
            if target not in self.plant.types:
                log.warning("stored alarm rule change for type %r, which the plant no longer has", target)
                return
            rule = None
            if doc is not None:
                try:
                    rule = check_rule(doc, self.plant.types[target], ("types", target, "alarms", name))
                except ModelLoadError as exc:
                    if strict:
                        raise
                    log.warning("stored alarm rule %s of type %s no longer applies: %s", name, target, exc)
                    return
            self._types.setdefault(target, {})[name] = rule
        elif target in self.plant.twins:
            self._twins.setdefault(target, {})[name] = doc
        else:
            log.warning("stored alarm rule change for twin %r, which the plant no longer has", target)

    def _type(self, name: str) -> Any:
        ty = self.plant.types.get(name)
        if ty is None:
            raise NotFoundError(f"no type {name!r} (types: {', '.join(sorted(self.plant.types))})")
        return ty

    def _twin(self, twin_id: str) -> Any:
        if twin_id not in self.plant.twins:
            raise NotFoundError(f"no twin {twin_id!r}")
        return self.plant.twins[twin_id]

    def close(self) -> None:
        with self._lock:
            self._con.close()
