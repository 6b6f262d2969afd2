"""Every API route declares the permission it needs (default deny for new routes)."""

from __future__ import annotations

from twinverse.api import create_app, route_table
from twinverse.config import load_settings
from twinverse.model import Plant
from twinverse.platform import Platform

# Not part of the API proper: the page and FastAPI's own docs. The websocket checks its
# permission in the handler (authorize_ws), tested in tests/api/test_ws.py.
PUBLIC = {"/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/ws"}
# Public by decision: load balancer and orchestrator probes carry no token, and answer only
# "up" / which part is not ready. /metrics is NOT here: it needs the health permission
# (a scraper gets a token scoped to it, docs/operations.md), as /healthz does.
PROBES = {"/livez", "/readyz"}


def test_every_route_declares_a_permission(plant: Plant) -> None:
    app = create_app(platform=Platform(load_settings(store=":memory:"), plant=plant))
    table = route_table(app)
    missing = [f"{r.methods} {r.path}" for r in table if r.path not in PUBLIC | PROBES and not r.permissions]
    assert missing == []
    declared = {r.path: r.permissions for r in table}
    assert {p: declared[p] for p in PROBES} == {"/livez": (), "/readyz": ()}  # public: nothing else slipped in
    assert declared["/healthz"] == declared["/metrics"] == ("health",)
    assert declared["/api/ingest"] == ("data:write",)
    assert declared["/api/twins/{twin_id:path}/history"] == ("data:read",)
    assert declared["/api/twins/{twin_id:path}"] == ("plant:read",)
