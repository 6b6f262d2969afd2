"""Read and write AAS environments as JSON, XML and AASX (basyx-python-sdk, metamodel 3.0).

Every failure of a reader (a broken zip, XML that is not AAS, JSON of the wrong shape)
becomes one located :class:`~twinverse.errors.ModelLoadError` naming the file (and the
line, where the parser knows it), never a traceback.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from basyx.aas import model
from basyx.aas.adapter import aasx
from basyx.aas.adapter.json import read_aas_json_file, write_aas_json_file
from basyx.aas.adapter.xml import read_aas_xml_file, write_aas_xml_file
from lxml import etree

from ...errors import InputError, Location, ModelLoadError, Problem

__all__ = ["AasFormat", "dumps_environment", "format_of", "loads_environment", "read_environment", "write_environment"]

Store = model.DictObjectStore[model.Identifiable]

#: Largest environment file read (256 MiB).
MAX_BYTES = 256 * 1024 * 1024


class AasFormat(StrEnum):
    """The three file forms of an AAS environment."""

    JSON = "json"
    XML = "xml"
    AASX = "aasx"


def format_of(path: str | Path, given: str | None = None) -> AasFormat:
    """The format named by ``given`` or by the file's suffix; :class:`InputError` if neither says."""
    name = given or Path(path).suffix.lstrip(".").lower()
    try:
        return AasFormat(name)
    except ValueError:
        raise InputError(f"{path}: cannot tell the AAS format (use a .json, .xml or .aasx name, or --format)") from None


def dumps_environment(store: Store, fmt: AasFormat) -> bytes:
    """The environment serialised as ``fmt`` (an AASX package holds it as XML)."""
    if fmt is AasFormat.JSON:
        text = io.StringIO()
        write_aas_json_file(text, store, indent=2)
        return text.getvalue().encode()
    if fmt is AasFormat.XML:
        data = io.BytesIO()
        write_aas_xml_file(data, store)
        return data.getvalue()
    data = io.BytesIO()
    with aasx.AASXWriter(data) as writer:
        writer.write_all_aas_objects("/aasx/data.xml", store, _files())
    return data.getvalue()


def write_environment(store: Store, path: str | Path, fmt: AasFormat | None = None) -> int:
    """Write the environment to ``path``; returns the bytes written."""
    data = dumps_environment(store, fmt or format_of(path))
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc
    return len(data)


def _files() -> aasx.DictSupplementaryFileContainer:
    return aasx.DictSupplementaryFileContainer()  # type: ignore[no-untyped-call]


def _fail(name: str, message: str, line: int | None = None) -> ModelLoadError:
    return ModelLoadError([Problem(message, Location(name, line))])


def _located(exc: BaseException) -> int | None:
    line = getattr(exc, "lineno", None)
    return line if isinstance(line, int) else None


def loads_environment(data: bytes, fmt: AasFormat, name: str = "<bytes>") -> Store:
    """Parse an environment from bytes; a located :class:`ModelLoadError` when it is not one."""
    if len(data) > MAX_BYTES:
        raise _fail(name, f"file is {len(data)} bytes, above the limit of {MAX_BYTES} bytes")
    try:
        if fmt is AasFormat.JSON:
            return _json(data, name)
        if fmt is AasFormat.XML:
            return _xml(data, name)
        return _aasx(data, name)
    except ModelLoadError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, etree.LxmlError) as exc:
        # basyx raises these for a document of the right syntax but the wrong content.
        raise _fail(name, f"not a valid AAS environment: {exc}", _located(exc)) from exc


def _json(data: bytes, name: str) -> Store:
    try:
        doc: Any = json.loads(data)
    except UnicodeDecodeError as exc:
        raise _fail(name, "file is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise _fail(name, f"JSON syntax error: {exc.msg} (column {exc.colno})", exc.lineno) from exc
    if not isinstance(doc, dict) or not set(doc) & {"assetAdministrationShells", "submodels", "conceptDescriptions"}:
        raise _fail(name, "not an AAS environment: expected an object with assetAdministrationShells, "
                          "submodels or conceptDescriptions", 1)
    return read_aas_json_file(io.StringIO(data.decode()), failsafe=False)


def _xml(data: bytes, name: str) -> Store:
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise _fail(name, f"XML syntax error: {exc.msg}", exc.lineno) from exc
    tag = etree.QName(root)
    if tag.localname != "environment" or not (tag.namespace or "").startswith("https://admin-shell.io/aas/3/"):
        raise _fail(name, f"not an AAS environment: the root element is {root.tag!r}, expected "
                          "'environment' in the namespace https://admin-shell.io/aas/3/0", root.sourceline)
    return read_aas_xml_file(io.BytesIO(data), failsafe=False)


def _aasx(data: bytes, name: str) -> Store:
    try:
        zipfile.ZipFile(io.BytesIO(data)).testzip()
    except (zipfile.BadZipFile, EOFError) as exc:
        raise _fail(name, f"not an AASX package (a broken or non-zip file): {exc}") from exc
    store: Store = model.DictObjectStore()
    try:
        with aasx.AASXReader(io.BytesIO(data)) as reader:
            reader.read_into(store, _files(), failsafe=False)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        why = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "the file", str(exc))
        raise _fail(name, f"not an AASX package: {why}") from exc
    if not len(store):
        raise _fail(name, "the AASX package holds no AAS environment (no aas-spec part)")
    return store


def read_environment(path: str | Path, fmt: AasFormat | None = None) -> Store:
    """Read an environment file (JSON, XML or AASX by suffix unless ``fmt`` says)."""
    fmt = fmt or format_of(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            raise _fail(str(path), f"file is {size} bytes, above the limit of {MAX_BYTES} bytes")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(str(path), f"cannot read file: {exc.strerror}") from exc
    return loads_environment(data, fmt, str(path))
