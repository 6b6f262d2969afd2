"""DTDL v2 and v3: parse and validate interfaces, import them as twin types, export a plant.

>>> from twinverse.model import load_plant
>>> from twinverse.platform import example_path
>>> models = plant_to_dtdl(load_plant(example_path()))
>>> len(parse_models(models).interfaces())
15
"""

from __future__ import annotations

from ._model import DtdlError, Element, ModelSet, ParsingError
from .export import plant_to_adt, plant_to_dtdl
from .importer import Imported, import_adt, import_interfaces, read_adt, read_dtdl_files
from .parser import Resolver, parse_models
from .serialize import modelset_to_dtdl

__all__ = [
    "DtdlError",
    "Element",
    "Imported",
    "ModelSet",
    "ParsingError",
    "Resolver",
    "import_adt",
    "import_interfaces",
    "modelset_to_dtdl",
    "parse_models",
    "plant_to_adt",
    "plant_to_dtdl",
    "read_adt",
    "read_dtdl_files",
]
