"""The baseline of bench_small: a bare FastAPI endpoint that parses a JSON list of points and answers 200.

Run as ``python benchmarks/bare_app.py PORT``: the same uvicorn settings as ``twinverse serve``,
no store, no auth, no validation beyond parsing — the ceiling an HTTP ingest route can reach.
"""

from __future__ import annotations

import sys

import orjson
import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/api/ingest")
async def ingest(request: Request) -> dict[str, int]:
    points = orjson.loads(await request.body())
    n = len(points)
    return {"received": n, "accepted": n, "rejected": 0, "stored": n}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
