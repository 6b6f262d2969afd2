"""Resolve the ``alarms:`` sections of a plant file: inherit, override, check against the type.

A type inherits the rules of the type it extends; a type or a twin that names an inherited
rule overrides only the fields it gives (``{limit: 75}``), and ``{enabled: false}`` turns
a rule off for that type or twin. Whatever the rule's final fields, it is checked against
the signals of the twin's type (:func:`rule_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .expr import ExpressionError, parse_expression
from .rules import AlarmRule, RuleKind
from .types import Signal, SignalKind, TwinType

__all__ = ["expression_signals", "merged_rule_doc", "rule_problems"]


def expression_signals(ty: TwinType) -> dict[str, tuple[str, ...] | None]:
    """The names an expression on a twin of ``ty`` may read: each signal, with its states for a state signal."""
    return {n: (tuple(s.states or ()) if s.kind is SignalKind.STATE else None) for n, s in ty.signals.items()}


def merged_rule_doc(base: AlarmRule | None, raw: Any) -> Any:
    """The document a rule is validated from: ``raw`` over the fields of the rule it overrides."""
    if base is None or not isinstance(raw, Mapping):
        return raw
    return {**base.model_dump(by_alias=True, exclude_defaults=True), "kind": base.kind.value, **raw}


def rule_problems(rule: AlarmRule, ty: TwinType) -> list[tuple[str, str]]:
    """What is wrong with ``rule`` on a twin of type ``ty``, as ``(field, message)`` pairs."""
    out: list[tuple[str, str]] = []
    sig: Signal | None = ty.signals.get(rule.signal)
    if rule.kind is RuleKind.EXPR:
        try:
            parse_expression(rule.expr or "", expression_signals(ty))
        except ExpressionError as exc:
            out.append(("expr", str(exc)))
    elif sig is None:
        have = ", ".join(sorted(ty.signals)) or "none"
        out.append(("signal", f"type {ty.name!r} has no signal {rule.signal!r} (signals: {have})"))
    elif (rule.kind.is_limit or rule.kind is RuleKind.RATE) and sig.kind not in (SignalKind.FLOAT, SignalKind.INT):
        out.append(("kind", f"a {rule.kind.value!r} rule needs a float or int signal; {rule.signal!r} is "
                            f"{sig.kind.value}"))  # fmt: skip
    elif rule.kind is RuleKind.STATE:
        if sig.kind is not SignalKind.STATE:
            out.append(("signal", f"a 'state' rule needs a signal of kind state; {rule.signal!r} is {sig.kind.value}"))
        elif rule.state not in (sig.states or ()):
            out.append(("state", f"state {rule.state!r} is not one of {rule.signal!r}'s states "
                                 f"({', '.join(sig.states or ())})"))  # fmt: skip
    if rule.suppress_in:
        states = ty.state_signal()
        if states is None:
            out.append(("suppress_in", f"'suppress_in' needs a signal 'state' of kind state on type {ty.name!r}"))
        else:
            bad = [s for s in rule.suppress_in if s not in (states.states or ())]
            if bad:
                out.append(("suppress_in", f"{', '.join(map(repr, bad))} not in the type's states "
                                           f"({', '.join(states.states or ())})"))  # fmt: skip
    return out
