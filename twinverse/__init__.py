"""twinverse: an open industrial-metaverse platform.

Digital twins built from a short plant YAML, live data over real brokers, history on
embedded DuckDB or PostgreSQL, production-line simulation, a 3D web viewer, and a trust
layer (identities, tokens, a tamper-evident log, sealed history, a data-asset registry).

The packages, ground floor first (each imports only from those before it; see
docs/architecture.md):

- ``errors``, ``config``, ``units``, ``plugins``: the exception tree, settings, pint, the registry
  of sources and stores
- ``core``: batch schema, quality, machine states, reject reasons, time, value formatting
- ``model``: plant YAML to :class:`~twinverse.model.Plant`, graph queries, the signal index
- ``store``: history on DuckDB or PostgreSQL, export
- ``trust``: identities, access, the Merkle log, sealed history, assets, bundles
- ``live``: the engine (validate, store, newest values) and the hub (subscribers)
- ``ingest``, ``sim``, ``scene``: sources; the simulator; 3D layout, glTF, time travel
- ``platform``: the services of one deployment, composed
- ``api``, ``demo``, ``cli``: the HTTP/websocket API, the demo wiring, the command line
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
