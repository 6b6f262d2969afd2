"""An AAS environment into a plant YAML, keeping what twinverse does not model.

- A shell twinverse wrote (extension ``twinverse:twin``) is its twin again; the root
  shell's ``twinverse:plant`` extension gives back the plant document (types, twins,
  simulation), and the submodels generated from the model are dropped: export makes them
  again from the model.
- Any other shell becomes a twin under the plant root, of the type named by its
  ``assetType`` (declared as an empty type when the plant has none of that name); the
  values of its submodels' Properties and MultiLanguageProperties become the twin's
  properties, keyed by ``<submodel idShort>.<idShort path>``.
- Everything else (those shells, every submodel and concept description twinverse did not
  generate, and submodels another tool attached to twinverse's shells) is kept verbatim
  in the YAML's ``aas`` section, so that export writes it back: an import–export round
  trip loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml
from basyx.aas import model
from basyx.aas.adapter.json import AASToJsonEncoder

from ...errors import InputError, Location, ModelLoadError, Problem
from ...model import loads_plant
from .ids import PLANT_EXTENSION, TWIN_EXTENSION, Ids, id_short

__all__ = ["import_environment", "plant_doc_from_environment"]

Store = model.DictObjectStore[model.Identifiable]


def _json(obj: object) -> Any:
    return json.loads(json.dumps(obj, cls=AASToJsonEncoder))


def _extension(obj: model.HasExtension, name: str) -> str | None:
    for ext in obj.extension:
        if ext.name == name and ext.value is not None:
            return str(ext.value)
    return None


def _plain(value: Any) -> Any:
    """A property value as plain YAML data (basyx's xsd types are subclasses of int, str, …)."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return None if value is None else str(value)


def _properties(elements: Iterable[model.SubmodelElement], prefix: str, out: dict[str, Any]) -> None:
    for i, el in enumerate(elements):
        name = f"{prefix}.{el.id_short if el.id_short else i}"
        if isinstance(el, model.Property):
            out[name] = _plain(el.value)
        elif isinstance(el, model.MultiLanguageProperty) and el.value:
            out[name] = el.value.get("en", next(iter(el.value.values())))
        elif isinstance(el, (model.SubmodelElementCollection, model.SubmodelElementList)):
            _properties(el.value, name, out)


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    taken.add(out)
    return out


def plant_doc_from_environment(
    store: Store, *, plant_id: str = "imported", name: str = "<environment>"
) -> dict[str, Any]:
    """The plant document (as the YAML holds it) for an AAS environment."""
    shells = sorted((o for o in store if isinstance(o, model.AssetAdministrationShell)), key=lambda s: s.id)
    submodels = {o.id: o for o in store if isinstance(o, model.Submodel)}
    concepts = [o for o in store if isinstance(o, model.ConceptDescription)]
    doc: dict[str, Any] | None = None
    base = None
    for shell in shells:
        text = _extension(shell, PLANT_EXTENSION)
        twin = _extension(shell, TWIN_EXTENSION)
        if text is None or twin is None:
            continue
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelLoadError([Problem(f"shell {shell.id!r}: extension {PLANT_EXTENSION} is not JSON: {exc.msg}",
                                          Location(name))]) from exc
        if not isinstance(loaded, dict):
            raise ModelLoadError([Problem(f"shell {shell.id!r}: extension {PLANT_EXTENSION} is not a plant document",
                                          Location(name))])
        doc = loaded
        suffix = f":aas:{twin}"
        base = shell.id[: -len(suffix)] if shell.id.endswith(suffix) else None
        break
    if doc is None:
        doc = {"plant": plant_id, "name": plant_id, "types": {}, "twins": []}
    earlier = doc.pop("aas", None)
    known: dict[str, str] = {}  # shell id → twin id, for shells an earlier import made twins of
    if isinstance(earlier, dict) and isinstance(earlier.get("twins"), dict):
        known = {str(v): str(k) for k, v in earlier["twins"].items()}
    root = str(doc.get("plant", plant_id))
    ids = Ids(base or f"urn:twinverse:{root}")
    aas: dict[str, Any] = {}
    if base is not None and base != f"urn:twinverse:{root}":
        aas["base"] = base
    types: dict[str, Any] = doc.setdefault("types", {})
    twins: list[Any] = doc.setdefault("twins", [])
    taken = {str(t.get("id")) for t in twins if isinstance(t, dict)}
    kept_refs: dict[str, Any] = {}
    foreign_twins: dict[str, str] = {}
    foreign_shells: list[Any] = []
    for shell in shells:
        refs = sorted(k.value for ref in shell.submodel for k in ref.key[:1])
        twin = _extension(shell, TWIN_EXTENSION)
        if twin is not None and shell.id == ids.shell(twin):
            extra = [r for r in refs if not ids.generated_submodel(r)]
            if extra:
                kept_refs[twin] = {"submodels": extra}
            continue
        foreign_shells.append(_json(shell))
        if shell.id in known:  # made a twin by an earlier import: the plant document has it
            foreign_twins[known[shell.id]] = shell.id
            continue
        # A shell of another tool: a twin under the root, the shell itself kept verbatim.
        local = _unique(id_short(shell.id_short or shell.id.rsplit("/", 1)[-1]), taken)
        type_name = id_short(shell.asset_information.asset_type or "asset")
        types.setdefault(type_name, {"description": "imported from an Asset Administration Shell"})
        props: dict[str, Any] = {}
        for ref in refs:
            sm = submodels.get(ref)
            if sm is not None:
                _properties(sm.submodel_element, sm.id_short or "submodel", props)
        display = shell.display_name.get("en") if shell.display_name else None
        twins.append({"id": local, "type": type_name, "name": display or shell.id_short or local,
                      **({"properties": props} if props else {})})
        foreign_twins[f"{root}/{local}"] = shell.id
    if kept_refs:
        aas["shells"] = kept_refs
    if foreign_twins:
        aas["twins"] = foreign_twins
        aas["foreign_shells"] = foreign_shells
    kept_sm = [_json(sm) for sid, sm in sorted(submodels.items()) if not ids.generated_submodel(sid)]
    if kept_sm:
        aas["submodels"] = kept_sm
    kept_cd = [_json(cd) for cd in sorted(concepts, key=lambda c: c.id) if not ids.generated_concept(cd.id)]
    if kept_cd:
        aas["concept_descriptions"] = kept_cd
    if aas:
        doc["aas"] = aas
    else:
        doc.pop("aas", None)
    return doc


def import_environment(store: Store, *, plant_id: str = "imported", name: str = "<environment>") -> str:
    """The plant YAML text for an AAS environment, checked by loading it.

    >>> from twinverse.model import loads_plant
    >>> from twinverse.interop.aas import build_environment
    >>> p = loads_plant("plant: p\\ntypes: {m: {properties: {v: 2}}}\\ntwins: [{id: a, type: m}]")
    >>> text = import_environment(build_environment(p))
    >>> loads_plant(text).twins["p/a"].properties
    {'v': 2}
    """
    if not any(isinstance(o, model.AssetAdministrationShell) for o in store):
        raise ModelLoadError([Problem("the environment holds no Asset Administration Shell", Location(name))])
    doc = plant_doc_from_environment(store, plant_id=plant_id, name=name)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    try:
        loads_plant(text, name=f"{name} (as plant YAML)")
    except ModelLoadError as exc:
        raise InputError(f"{name}: the environment does not make a valid plant: {exc.message}",
                         details=exc.details) from exc
    return text
