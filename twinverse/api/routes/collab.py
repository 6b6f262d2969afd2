"""The shared scene: ``/ws/collab/{plant}`` (presence and annotations) and its REST views.

``/ws/collab/{plant}`` speaks the y-websocket protocol (binary frames, what the npm
``y-websocket`` provider sends): Yjs sync of the plant's shared document (one map,
``annotations``) and Yjs awareness (presence: who is here, their camera). Anyone with
``plant:read`` joins; only ``annotation:write`` (operators and up) may change the document.
A refused change is answered with a y-protocols *permission denied* frame that names the
reason, and the connection stays. ``?access_token=`` authorises as on ``/ws``; a refused
handshake closes with 1008. Each session is a :class:`~twinverse.api.room.RoomSession`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, WebSocket

from ..params import get_platform
from ..room import RoomSession, identity_of
from ..schemas import AnnotationOut, CollabMeOut, PresenceOut
from ..security import Permission, current_principal, require

__all__ = ["router"]

router = APIRouter(tags=["plant"])


@router.websocket("/ws/collab/{plant_id}")
async def collab_ws(websocket: WebSocket, plant_id: str) -> None:
    """Join the plant's shared room (y-websocket protocol)."""
    await RoomSession(websocket, get_platform(websocket), plant_id).run()


@router.get("/api/collab/me", response_model=CollabMeOut, summary="Who I am in the shared scene",
            dependencies=[Depends(require(Permission.PLANT_READ))])  # fmt: skip
async def collab_me(request: Request) -> dict[str, Any]:
    """The name, role and colour the room shows for the caller, and whether it may write annotations."""
    platform = get_platform(request)
    ident = identity_of(platform, current_principal(request))
    user = ident.user(0, None)
    return {**user, "plant": platform.plant.id}


@router.get("/api/collab/annotations", response_model=list[AnnotationOut], summary="The plant's annotations",
            dependencies=[Depends(require(Permission.PLANT_READ))])  # fmt: skip
async def list_annotations(request: Request) -> list[dict[str, Any]]:
    """Every annotation of the plant's shared document, oldest first (write them through ``/ws/collab``)."""
    platform = get_platform(request)
    return platform.collab.room(platform.plant.id).annotations()


@router.get("/api/collab/presence", response_model=list[PresenceOut], summary="Who is in the shared scene",
            dependencies=[Depends(require(Permission.PLANT_READ))])  # fmt: skip
async def presence(request: Request) -> list[dict[str, Any]]:
    """The presence state of everyone connected to the plant's room (user as the server stamped it)."""
    platform = get_platform(request)
    return platform.collab.room(platform.plant.id).who()
