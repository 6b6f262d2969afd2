"""The expression language of ``expr`` alarm rules: a condition over several signals of one twin.

An expression is parsed by Python's own parser (:mod:`ast`, ``mode="eval"``) and then
checked node by node against a short whitelist; nothing is ever evaluated by Python
(no ``eval``, no ``exec``, no attribute access, no calls but three functions). The grammar,
loosest binding first::

    expr     := or
    or       := and ("or" and)*
    and      := not ("and" not)*
    not      := "not" not | compare
    compare  := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)*      # chained: 0 < x < 5
    sum      := term (("+" | "-") term)*
    term     := unary (("*" | "/" | "%") unary)*
    unary    := ("-" | "+") unary | power
    power    := atom ("**" unary)?
    atom     := NUMBER | SIGNAL | STATE | FUNC "(" expr ("," expr)* ")" | "(" expr ")"
    FUNC     := "abs" | "min" | "max"
    STATE    := a quoted state name, only as an operand of == or != beside a signal of kind state

``SIGNAL`` is the name of a signal of the twin's type (a Python identifier). A comparison
or a boolean operator gives true or false; a number counts as true when it is neither 0
nor NaN. Every problem is reported with its column (1-based) in the expression.

>>> parse_expression("temp > 80 and state == 'running'", {"temp": None, "state": ("running", "down")}).names
('temp', 'state')
>>> parse_expression("temp >", {"temp": None})
Traceback (most recent call last):
...
twinverse.model.expr.ExpressionError: column 7: the expression ends too early
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["FUNCTIONS", "ExpressionError", "ParsedExpression", "parse_expression"]

#: The functions an expression may call.
FUNCTIONS = frozenset({"abs", "min", "max"})

_BOOL = (ast.And, ast.Or)
_UNARY = (ast.Not, ast.USub, ast.UAdd)
_BIN = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Pow)
_CMP = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)
_ALLOWED = "numbers, signal names, + - * / % **, comparisons, and/or/not, abs/min/max"
_MAX_LENGTH = 2000
_MAX_NODES = 500


class ExpressionError(ValueError):
    """A problem in an expression, with its 1-based column."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column
        self.message = message


@dataclass(frozen=True)
class ParsedExpression:
    """A checked expression: its tree and the signals it reads, in order of first use."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]


def parse_expression(text: str, signals: Mapping[str, Sequence[str] | None]) -> ParsedExpression:
    """Parse and check ``text`` against ``signals`` (name → its states for a state signal, else None).

    Raises :class:`ExpressionError` at the first problem.
    """
    if not text.strip():
        raise ExpressionError(1, "an expression is needed, e.g. 'temperature > 80 and speed < 100'")
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(_MAX_LENGTH, f"an expression is at most {_MAX_LENGTH} characters")
    if "\n" in text or "\r" in text:
        raise ExpressionError(text.find("\n") + 1 if "\n" in text else text.find("\r") + 1,
                              "an expression is one line")  # fmt: skip
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        if not exc.offset or exc.offset > len(text):  # the parser ran out of input
            raise ExpressionError(len(text) + 1, "the expression ends too early") from None
        raise ExpressionError(exc.offset, exc.msg) from None
    nodes = list(ast.walk(tree))
    if len(nodes) > _MAX_NODES:
        raise ExpressionError(1, f"an expression has at most {_MAX_NODES} parts")
    names: list[str] = []
    _Checker(signals, names).check(tree.body)
    if not names:
        raise ExpressionError(1, "an expression reads at least one signal")
    return ParsedExpression(text, tree, tuple(names))


def _col(node: ast.AST) -> int:
    return int(getattr(node, "col_offset", 0)) + 1


class _Checker:
    def __init__(self, signals: Mapping[str, Sequence[str] | None], names: list[str]) -> None:
        self.signals = signals
        self.names = names

    def check(self, node: ast.expr) -> None:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, _BOOL):
            for v in node.values:
                self.check(v)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            self.check(node.operand)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _BIN):
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, ast.Compare) and all(isinstance(op, _CMP) for op in node.ops):
            operands = [node.left, *node.comparators]
            for i, x in enumerate(operands):
                if isinstance(x, ast.Constant) and isinstance(x.value, str):
                    self._state_operand(x, operands, node.ops, i)
                else:
                    self.check(x)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(_col(node), f"only {', '.join(sorted(FUNCTIONS))} may be called")
            if node.keywords or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(_col(node), f"{node.func.id}() takes one or more expressions, no keywords")
            if node.func.id == "abs" and len(node.args) != 1:
                raise ExpressionError(_col(node), "abs() takes exactly one expression")
            for a in node.args:
                self.check(a)
        elif isinstance(node, ast.Name):
            self._name(node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                raise ExpressionError(_col(node), "a quoted state name only compares (== or !=) with a state signal")
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise ExpressionError(_col(node), f"{node.value!r} is not a number")
        else:
            what = type(node).__name__ if not hasattr(node, "op") else type(node.op).__name__
            if isinstance(node, ast.Compare):
                what = next(type(op).__name__ for op in node.ops if not isinstance(op, _CMP))
            raise ExpressionError(_col(node), f"{_describe(what)} is not allowed (allowed: {_ALLOWED})")

    def _name(self, node: ast.Name) -> None:
        if node.id in FUNCTIONS:
            raise ExpressionError(_col(node), f"{node.id} is a function: call it, e.g. {node.id}(x)")
        if node.id not in self.signals:
            have = ", ".join(sorted(self.signals)) or "none"
            raise ExpressionError(_col(node), f"unknown signal {node.id!r} (signals: {have})")
        if node.id not in self.names:
            self.names.append(node.id)

    def _state_operand(self, x: ast.Constant, operands: list[ast.expr], ops: list[ast.cmpop], i: int) -> None:
        beside = [(operands[j], ops[min(i, j)]) for j in (i - 1, i + 1) if 0 <= j < len(operands)]
        for other, op in beside:
            if isinstance(other, ast.Name) and isinstance(op, ast.Eq | ast.NotEq):
                states = self.signals.get(other.id)
                if states is not None:
                    if x.value not in states:
                        raise ExpressionError(_col(x), f"state {x.value!r} is not one of {other.id!r}'s states "
                                                       f"({', '.join(states)})")  # fmt: skip
                    return
        raise ExpressionError(_col(x), "a quoted state name only compares (== or !=) with a state signal")


def _describe(what: str) -> str:
    return {"Attribute": "attribute access '.'", "Subscript": "indexing '[…]'", "IfExp": "'… if … else …'",
            "Lambda": "lambda", "BitAnd": "'&' (use 'and')", "BitOr": "'|' (use 'or')", "Invert": "'~' (use 'not')",
            "FloorDiv": "'//'", "NamedExpr": "':='", "In": "'in'", "NotIn": "'not in'", "Is": "'is'",
            "IsNot": "'is not'"}.get(what, what)  # fmt: skip
