"""DTDL v2 and v3: parse and validate interfaces, import them as twin types, export a plant."""

from __future__ import annotations

from ._model import DtdlError, Element, ModelSet, ParsingError
from .parser import Resolver, parse_models

__all__ = ["DtdlError", "Element", "ModelSet", "ParsingError", "Resolver", "parse_models"]
