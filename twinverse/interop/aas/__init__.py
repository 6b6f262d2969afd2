"""The Asset Administration Shell (IDTA, metamodel and API v3.0): export, import, API views.

- :func:`build_environment` makes the environment of a plant (one shell per twin, the
  Nameplate, Technical Data, Time Series, Hierarchical Structures submodels, …);
- :func:`write_environment` / :func:`read_environment` move it through JSON, XML and AASX;
- :func:`import_environment` turns an environment into a plant YAML, keeping everything
  twinverse does not model so that export gives it back;
- :class:`AasRepository` answers the read operations of the AAS API (Part 2), with the
  live values of bound properties.

The metamodel and (de)serialisation are basyx-python-sdk's 1.2 line, which writes the
metamodel 3.0 that the official checker (aas-test-engines 1.0) accepts.
"""

from __future__ import annotations

from .export import LiveValue, build_environment, plant_base
from .files import AasFormat, dumps_environment, format_of, loads_environment, read_environment, write_environment
from .ids import b64decode_id, b64encode_id, id_short
from .importer import import_environment, plant_doc_from_environment
from .records import Records, last_records
from .repository import PROFILES, AasRepository

__all__ = [
    "PROFILES",
    "AasFormat",
    "AasRepository",
    "LiveValue",
    "Records",
    "b64decode_id",
    "b64encode_id",
    "build_environment",
    "dumps_environment",
    "format_of",
    "id_short",
    "import_environment",
    "last_records",
    "loads_environment",
    "plant_base",
    "plant_doc_from_environment",
    "read_environment",
    "write_environment",
]
