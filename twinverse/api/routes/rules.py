"""Alarm rules over the API: list, create, replace and delete rules per type and per twin override.

The platform's :class:`~twinverse.ops.RuleBook` checks each document as the plant file's
rules are checked (422 with the same messages and the field path), stores the change so it
survives a restart, and the alarms are recompiled at once. Reading needs ``alarm:read``,
changing needs ``rule:write`` (engineers); every change is recorded in the tamper-evident
log (``rule.put`` / ``rule.delete`` on target ``rule:type:<type>:<rule>`` or
``rule:twin:<twin>:<rule>``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, RootModel

from ...ops import RuleBook, rule_doc
from ..body import JsonBody
from ..params import get_platform
from ..schemas import problem_responses
from ..security import Permission, audit, current_principal, require

__all__ = ["router"]

router = APIRouter(prefix="/api/rules", tags=["alarms"], responses=problem_responses(404, 422))


class RuleDoc(RootModel[dict[str, Any]]):
    """One alarm rule as the plant file writes it, e.g. ``{"kind": "hi", "signal": "temperature", "limit": 80}``.

    A twin's override may give only the fields it changes (``{"limit": 75}``, ``{"enabled": false}``).
    """


class RuleOut(BaseModel):
    twin: str
    name: str
    id: str = Field(description="The alarm's id, '<twin>:<rule>'.")
    rule: dict[str, Any]
    override: dict[str, Any] | None = Field(None, description="The twin's override made over the API, if any.")


class RuleList(BaseModel):
    total: int
    items: list[RuleOut]


class TypeRules(BaseModel):
    type: str
    rules: dict[str, dict[str, Any]] = Field(description="The rules every twin of the type gets.")
    changed: dict[str, dict[str, Any] | None] = Field(description="The API's changes of this type (null: deleted).")


class TwinRule(BaseModel):
    twin: str
    type: str
    name: str
    rule: dict[str, Any] | None = Field(description="The rule in force on the twin (enabled or not); null: none.")
    override: dict[str, Any] | None = Field(description="The twin's override made over the API, if any.")


class RulePut(BaseModel):
    scope: str = Field(description="'type' or 'twin'.")
    target: str
    name: str
    rule: dict[str, Any] = Field(
        description="The rule now in force (a twin's override merged over its inherited rule)."
    )


def _book(request: Request) -> RuleBook:
    book: RuleBook = get_platform(request).rules
    return book


def _type_rules(book: RuleBook, type_name: str) -> TypeRules:
    changed = book.changed_types().get(type_name, {})
    return TypeRules(type=type_name, rules={n: rule_doc(r) for n, r in sorted(book.type_rules(type_name).items())},
                     changed={n: None if r is None else rule_doc(r) for n, r in sorted(changed.items())})  # fmt: skip


def _twin_rule(book: RuleBook, twin_id: str, name: str) -> TwinRule:
    rules = book.twin_rules(twin_id)  # 404 for an unknown twin
    r = rules.get(name)
    return TwinRule(twin=twin_id, type=book.plant.twins[twin_id].type, name=name,
                    rule=None if r is None else rule_doc(r), override=book.overrides(twin_id).get(name))  # fmt: skip


_READ = [Depends(require(Permission.ALARM_READ))]
_WRITE = [Depends(require(Permission.RULE_WRITE))]
_Doc = Annotated[RuleDoc, Depends(JsonBody(RuleDoc))]


@router.get("", response_model=RuleList, summary="List alarm rules", dependencies=_READ)
def list_rules(
    request: Request, twin: Annotated[str | None, Query(description="Only rules of this twin's subtree.")] = None
) -> RuleList:
    """Every enabled rule in force, per twin (the plant file's with the API's changes) and the twin's override."""
    book = _book(request)
    within = set(book.plant.subtree(twin)) if twin is not None else None
    overrides: dict[str, dict[str, Any]] = {}
    items = []
    for t, n, r in book.rules():
        if within is None or t in within:
            if t not in overrides:
                overrides[t] = book.overrides(t)
            items.append(RuleOut(twin=t, name=n, id=f"{t}:{n}", rule=rule_doc(r), override=overrides[t].get(n)))
    return RuleList(total=len(items), items=items)


@router.get("/types/{type_name}", response_model=TypeRules, summary="A type's alarm rules", dependencies=_READ)
def type_rules(request: Request, type_name: str) -> TypeRules:
    """The rules every twin of the type gets, and the changes made to them over the API."""
    return _type_rules(_book(request), type_name)


@router.put("/types/{type_name}/{rule}", response_model=RulePut, summary="Create or replace a type's alarm rule",
            dependencies=_WRITE)  # fmt: skip
async def put_type_rule(request: Request, type_name: str, rule: str, body: _Doc) -> RulePut:
    """A whole rule for every twin of the type (and of types extending it); in force at once."""
    user = current_principal(request).id
    r = await run_in_threadpool(_book(request).put_type, type_name, rule, body.root, user=user)
    await audit(request, "rule.put", f"rule:type:{type_name}:{rule}", {"rule": rule_doc(r)})
    return RulePut(scope="type", target=type_name, name=rule, rule=rule_doc(r))


@router.delete("/types/{type_name}/{rule}", response_model=TypeRules, summary="Delete a type's alarm rule",
               dependencies=_WRITE)  # fmt: skip
async def delete_type_rule(request: Request, type_name: str, rule: str) -> TypeRules:
    """Delete the rule (a plant file's rule too) from the type and the types extending it."""
    book = _book(request)
    await run_in_threadpool(book.delete_type, type_name, rule, user=current_principal(request).id)
    await audit(request, "rule.delete", f"rule:type:{type_name}:{rule}")
    return _type_rules(book, type_name)


@router.get("/twins/{twin_id:path}/{rule}", response_model=TwinRule, summary="A twin's alarm rule",
            dependencies=_READ)  # fmt: skip
def twin_rule(request: Request, twin_id: str, rule: str) -> TwinRule:
    """The rule in force on the twin after every override, and the override made over the API."""
    return _twin_rule(_book(request), twin_id, rule)


@router.put("/twins/{twin_id:path}/{rule}", response_model=RulePut, summary="Override a twin's alarm rule",
            dependencies=_WRITE)  # fmt: skip
async def put_twin_rule(request: Request, twin_id: str, rule: str, body: _Doc) -> RulePut:
    """Fields over the rule the twin inherits (``{"limit": 75}``), or a whole rule of its own; in force at once."""
    user = current_principal(request).id
    r = await run_in_threadpool(_book(request).put_twin, twin_id, rule, body.root, user=user)
    await audit(request, "rule.put", f"rule:twin:{twin_id}:{rule}", {"override": body.root})
    return RulePut(scope="twin", target=twin_id, name=rule, rule=rule_doc(r))


@router.delete("/twins/{twin_id:path}/{rule}", response_model=TwinRule, summary="Remove a twin's rule override",
               dependencies=_WRITE)  # fmt: skip
async def delete_twin_rule(request: Request, twin_id: str, rule: str) -> TwinRule:
    """Remove the API's override: the twin gets the inherited rule again."""
    book = _book(request)
    await run_in_threadpool(book.delete_twin, twin_id, rule, user=current_principal(request).id)
    await audit(request, "rule.delete", f"rule:twin:{twin_id}:{rule}")
    return _twin_rule(book, twin_id, rule)
