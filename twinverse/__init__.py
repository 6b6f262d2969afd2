"""twinverse: an open industrial-metaverse platform.

Digital twins built from a short plant YAML, live data over real brokers, history on
embedded DuckDB or PostgreSQL, an API with a websocket, and (in later releases) simulation,
a 3D viewer and a trust layer.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
