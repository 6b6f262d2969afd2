"""The plant model: twins, types and graph queries."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from ...core.states import vocabulary
from ...errors import NotFoundError
from ..params import get_platform
from ..schemas import LiveValue, PlantOut, StateVocabulary, TwinList, TwinOut, TwinSummary, problem_responses
from ..security import Permission, require

router = APIRouter(
    prefix="/api",
    tags=["plant"],
    dependencies=[Depends(require(Permission.PLANT_READ))],
    responses=problem_responses(404, 422),
)


class GraphQuery(StrEnum):
    CHILDREN = "children"
    SUBTREE = "subtree"
    ANCESTORS = "ancestors"
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


@router.get("/plant", response_model=PlantOut, summary="Plant summary")
def plant_summary(request: Request) -> PlantOut:
    """Summary of the plant model and its types."""
    p = get_platform(request).plant
    return PlantOut(
        **p.summary(),
        roots=p.roots(),
        types_detail={n: t.model_dump(mode="json", exclude={"name"}) for n, t in p.types.items()},
    )


@router.get("/states", response_model=StateVocabulary, summary="Machine-state vocabulary")
def machine_states() -> StateVocabulary:
    """The machine states every view understands, in code order, with colours and aliases.

    The viewer colours machines and draws its legend from this; a type that declares its
    own states may report others, which views show in a neutral colour.
    """
    return StateVocabulary.model_validate(vocabulary())


@router.get("/twins", response_model=TwinList, summary="List twins")
def list_twins(
    request: Request,
    type: Annotated[str | None, Query(description="Only twins of this type or a type extending it.")] = None,
    within: Annotated[str | None, Query(description="Only twins in this subtree (twin id).")] = None,
    q: Annotated[str | None, Query(description="Case-insensitive text in id or name.")] = None,
    machines: Annotated[bool, Query(description="Only twins that report a state.")] = False,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> TwinList:
    """List and filter twins."""
    p = get_platform(request).plant
    if type is not None and type not in p.types:
        raise NotFoundError(f"no type {type!r} in plant {p.id!r} (types: {', '.join(sorted(p.types))})")
    ids = p.of_type(type, within=within) if type else (p.subtree(within) if within else list(p.twins))
    if machines:
        keep = set(p.machines())
        ids = [i for i in ids if i in keep]
    if q:
        needle = q.lower()
        ids = [i for i in ids if needle in i.lower() or needle in p.twins[i].name.lower()]
    page = ids[offset : offset + limit]
    return TwinList(
        total=len(ids),
        items=[TwinSummary(id=i, type=p.twins[i].type, name=p.twins[i].name, parent=p.twins[i].parent) for i in page],
    )


@router.get("/twins/{twin_id:path}/live", response_model=list[LiveValue], summary="Live values of a twin")
def twin_live(request: Request, twin_id: str) -> list[LiveValue]:
    """Live values of a twin's signals."""
    platform = get_platform(request)
    platform.plant.twin(twin_id)
    return [LiveValue(**v) for v in platform.engine.live(platform.plant.signals.of_twin(twin_id))]


@router.get("/twins/{twin_id:path}/graph/{query}", response_model=list[str], summary="Graph query")
def twin_graph(
    request: Request,
    twin_id: str,
    query: GraphQuery,
    relation: Annotated[str, Query(description="Relationship followed by upstream/downstream.")] = "feeds",
) -> list[str]:
    """Graph queries: children, subtree, ancestors, upstream/downstream along a relationship."""
    p = get_platform(request).plant
    if query is GraphQuery.CHILDREN:
        return p.children(twin_id)
    if query is GraphQuery.SUBTREE:
        return p.subtree(twin_id)
    if query is GraphQuery.ANCESTORS:
        return p.ancestors(twin_id)
    if query is GraphQuery.UPSTREAM:
        return p.upstream(twin_id, relation)
    return p.downstream(twin_id, relation)


@router.get("/twins/{twin_id:path}", response_model=TwinOut, summary="One twin")
def get_twin(request: Request, twin_id: str) -> TwinOut:
    """One twin: properties, signals, relationships and live values."""
    platform = get_platform(request)
    d = platform.plant.twin_dict(twin_id)
    live = [LiveValue(**v) for v in platform.engine.live(platform.plant.signals.of_twin(twin_id))]
    return TwinOut(**d, live=live)
