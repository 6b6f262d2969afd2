"""A plant as an AAS environment (metamodel v3.0, built with basyx-python-sdk).

One shell per twin (site, lines, machines, …) with the asset's global id, and submodels
built from the model:

- Digital Nameplate (IDTA 02006-2-0) from the twin's name and nameplate properties
  (``manufacturer``, ``serial_number``, ``year_of_construction``);
- Technical Data (IDTA 02003-1-2): the twin's properties and its power per state (kW);
- Time Series Data (IDTA 02008-1-1) for twins with signals: the record layout and a linked
  segment whose endpoint is twinverse's history endpoint of the twin;
- Operational Data (twinverse): one Property per signal, bound to it by the qualifier
  ``twinverse:signal`` (the AAS API serves its live value);
- Hierarchical Structures (IDTA 02011-1-0) for containers: ``HasPart`` from the container
  to each child;
- Relationships (twinverse): the named edges other than ``contains`` (``feeds``, …);
- Carbon Footprint (after IDTA 02023-0-9) for twins with power per state, when a grid
  factor is known (the plant's ``simulation.grid_factor`` or ``grid_factor=``): kg CO2e of
  one hour in each state.

Signals' units live in concept descriptions (IEC 61360 data specification) that the
properties' semantic ids point to. The root shell carries the plant document in the
extension ``twinverse:plant`` and every shell its twin id in ``twinverse:twin``, so that
:func:`~twinverse.interop.aas.importer.import_environment` gives back the same plant.
Submodels, shells and concept descriptions kept from an earlier import (the plant YAML's
``aas`` section) are written back unchanged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model
from basyx.aas.adapter.json import StrictAASFromJsonDecoder

from ...errors import InputError
from ...model import Plant, Signal, SignalKind, Twin
from .ids import (
    PLANT_EXTENSION,
    SEM_ARCHE_TYPE,
    SEM_ENTITY_ENTRY,
    SEM_ENTITY_NODE,
    SEM_HAS_PART,
    SEM_HIERARCHY,
    SEM_NAMEPLATE,
    SEM_OPERATIONAL,
    SEM_RELATIONSHIPS,
    SEM_TECHNICAL,
    SEM_TIME_SERIES,
    SIGNAL_QUALIFIER,
    TWIN_EXTENSION,
    Ids,
    id_short,
)

__all__ = ["LiveValue", "build_environment", "plant_base"]

#: ``live(twin_id, signal) -> value`` (None when the signal has no value yet).
LiveValue = Callable[[str, str], Any]

_IEC61360 = "https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"
_NAMEPLATE_SEM = {
    "URIOfTheProduct": "0173-1#02-AAY811#001",
    "ManufacturerName": "0173-1#02-AAO677#002",
    "ManufacturerProductDesignation": "0173-1#02-AAW338#001",
    "SerialNumber": "0173-1#02-AAM556#002",
    "YearOfConstruction": "0173-1#02-AAP906#001",
}
_TD = "https://admin-shell.io/ZVEI/TechnicalData/"
_PCF = "https://admin-shell.io/idta/CarbonFootprint/"
_PCF_SEM = {
    "PCFCalculationMethod": "0173-1#02-ABG854#002",
    "PCFCO2eq": "0173-1#02-ABG855#001",
    "PCFReferenceValueForCalculation": "0173-1#02-ABG856#001",
    "PCFQuantityOfMeasureForCalculation": "0173-1#02-ABG857#001",
    "PCFLifeCyclePhase": "0173-1#02-ABG858#001",
}
_TS = "https://admin-shell.io/idta/TimeSeries/"


def plant_base(plant: Plant) -> str:
    """The identifier base of ``plant``: the YAML's ``aas.base`` or ``urn:twinverse:<plant id>``."""
    doc = getattr(plant, "aas_doc", None) or {}
    base = doc.get("base") if isinstance(doc, Mapping) else None
    return base if isinstance(base, str) and base else f"urn:twinverse:{plant.id}"


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def _shell_ref(shell_id: str) -> model.ModelReference[model.AssetAdministrationShell]:
    return model.ModelReference(
        (model.Key(model.KeyTypes.ASSET_ADMINISTRATION_SHELL, shell_id),), model.AssetAdministrationShell
    )


def _mlp(name: str, text: str, semantic: str | None = None) -> model.MultiLanguageProperty:
    return model.MultiLanguageProperty(
        name, value=model.MultiLanguageTextType({"en": text or name}),
        semantic_id=_ref(semantic) if semantic else None,
    )


def _typed(value: Any) -> tuple[Any, Any]:
    """(xsd type, value) of a property value; lists and mappings travel as JSON text."""
    if isinstance(value, bool):
        return model.datatypes.Boolean, value
    if isinstance(value, int):
        return model.datatypes.Long, value
    if isinstance(value, float):
        if math.isfinite(value):
            return model.datatypes.Double, value
        return model.datatypes.String, str(value)
    if isinstance(value, str):
        return model.datatypes.String, value
    return model.datatypes.String, json.dumps(value, sort_keys=True, default=str)


def _signal_type(sig: Signal) -> Any:
    return {
        SignalKind.FLOAT: model.datatypes.Double,
        SignalKind.INT: model.datatypes.Long,
        SignalKind.BOOL: model.datatypes.Boolean,
        SignalKind.STATE: model.datatypes.String,
    }[sig.kind]


def _signal_value(sig: Signal, value: Any) -> Any:
    """A live value as the signal's xsd type (None when absent or not representable)."""
    if value is None:
        return None
    try:
        if sig.kind is SignalKind.STATE:
            return str(value)
        if sig.kind is SignalKind.BOOL:
            return bool(value)
        if sig.kind is SignalKind.INT:
            return int(value)
        number = float(value)
        return number if math.isfinite(number) else None
    except (TypeError, ValueError):
        return None


@dataclass
class _Builder:
    plant: Plant
    ids: Ids
    api_base: str
    live: LiveValue | None
    grid_factor: float | None = None
    records: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] = field(default_factory=dict)
    store: model.DictObjectStore[model.Identifiable] = field(default_factory=model.DictObjectStore)
    concepts: dict[str, model.ConceptDescription] = field(default_factory=dict)
    preserved: Mapping[str, Any] = field(default_factory=dict)

    # -- concept descriptions ----------------------------------------------------------------
    def concept(self, key: tuple[str, ...], name: str, unit: str | None, definition: str = "") -> str:
        cid = self.ids.concept(*key)
        if cid not in self.concepts:
            content = model.DataSpecificationIEC61360(
                preferred_name=model.PreferredNameTypeIEC61360({"en": name}),
                data_type=model.DataTypeIEC61360.REAL_MEASURE if unit else None,
                definition=model.DefinitionTypeIEC61360({"en": definition or name}),  # AASc-3a-008
                unit=unit or None,
            )
            self.concepts[cid] = model.ConceptDescription(
                cid, id_short=id_short(name),
                embedded_data_specifications=[model.EmbeddedDataSpecification(_ref(_IEC61360), content)],
            )
        return cid

    # -- submodels --------------------------------------------------------------------------
    def nameplate(self, twin: Twin, asset_id: str) -> model.Submodel:
        props = twin.properties
        elements: list[model.SubmodelElement] = [
            model.Property("URIOfTheProduct", model.datatypes.String, asset_id,
                           semantic_id=_ref(_NAMEPLATE_SEM["URIOfTheProduct"])),
            _mlp("ManufacturerName", str(props.get("manufacturer", "unknown")), _NAMEPLATE_SEM["ManufacturerName"]),
            _mlp("ManufacturerProductDesignation", twin.name, _NAMEPLATE_SEM["ManufacturerProductDesignation"]),
        ]
        if "serial_number" in props:
            elements.append(model.Property("SerialNumber", model.datatypes.String, str(props["serial_number"]),
                                           semantic_id=_ref(_NAMEPLATE_SEM["SerialNumber"])))
        if "year_of_construction" in props:
            elements.append(model.Property("YearOfConstruction", model.datatypes.String,
                                           str(props["year_of_construction"]),
                                           semantic_id=_ref(_NAMEPLATE_SEM["YearOfConstruction"])))
        return model.Submodel(self.ids.submodel("Nameplate", twin.id), elements, id_short="Nameplate",
                              semantic_id=_ref(SEM_NAMEPLATE))

    def technical(self, twin: Twin) -> model.Submodel:
        ttype = self.plant.types[twin.type]
        general = model.SubmodelElementCollection("GeneralInformation", [
            model.Property("ManufacturerName", model.datatypes.String, str(twin.properties.get("manufacturer", "")),
                           semantic_id=_ref(_NAMEPLATE_SEM["ManufacturerName"])),
            _mlp("ManufacturerProductDesignation", twin.name, _NAMEPLATE_SEM["ManufacturerProductDesignation"]),
        ], semantic_id=_ref(_TD + "GeneralInformation/1/1"))
        technical: list[model.SubmodelElement] = []
        for name, value in sorted(twin.properties.items()):
            vtype, v = _typed(value)
            cid = self.concept(("property", twin.type, name), name, None)
            technical.append(model.Property(id_short(name), vtype, v, semantic_id=_ref(cid)))
        if ttype.power:
            power = []
            for state, kw in ttype.power.items():
                cid = self.concept(("power", twin.type, state), f"power when {state}", "kW",
                                   f"electrical power drawn in state {state}")
                power.append(model.Property(id_short(state), model.datatypes.Double, float(kw), semantic_id=_ref(cid)))
            technical.append(model.SubmodelElementCollection("PowerPerState", power))
        elements = [general, model.SubmodelElementCollection(
            "TechnicalProperties", technical, semantic_id=_ref(_TD + "TechnicalProperties/1/1"))]
        return model.Submodel(self.ids.submodel("TechnicalData", twin.id), elements, id_short="TechnicalData",
                              semantic_id=_ref(SEM_TECHNICAL))

    def signal_concept(self, twin: Twin, sig: Signal) -> str:
        return self.concept(("signal", twin.type, sig.name), sig.name, sig.unit, sig.description)

    def operational(self, twin: Twin) -> model.Submodel:
        elements = []
        for sig in self.plant.types[twin.type].signals.values():
            value = _signal_value(sig, self.live(twin.id, sig.name)) if self.live is not None else None
            qual = model.Qualifier(SIGNAL_QUALIFIER, model.datatypes.String, sig.name)
            elements.append(model.Property(id_short(sig.name), _signal_type(sig), value,
                                           semantic_id=_ref(self.signal_concept(twin, sig)), qualifier=[qual]))
        return model.Submodel(self.ids.submodel("OperationalData", twin.id), elements, id_short="OperationalData",
                              semantic_id=_ref(SEM_OPERATIONAL))

    def time_series(self, twin: Twin) -> model.Submodel:
        signals = list(self.plant.types[twin.type].signals.values())
        record = [model.Property("Time", model.datatypes.String, None, semantic_id=_ref(_TS + "UtcTime/1/1"))]
        record += [model.Property(id_short(s.name), _signal_type(s), None,
                                  semantic_id=_ref(self.signal_concept(twin, s))) for s in signals]
        metadata = model.SubmodelElementCollection("Metadata", [
            _mlp("Name", twin.name, _TS + "Metadata/Name/1/1"),
            model.SubmodelElementCollection("Record", record, semantic_id=_ref(_TS + "Record/1/1")),
        ], semantic_id=_ref(_TS + "Metadata/1/1"))
        names = ",".join(s.name for s in signals)
        linked = model.SubmodelElementCollection("History", [
            _mlp("Name", f"history of {twin.id}", _TS + "Segment/Name/1/1"),
            model.Property("Endpoint", model.datatypes.String, f"{self.api_base}/api/twins/{twin.id}/history",
                           semantic_id=_ref(_TS + "Endpoint/1/1")),
            model.Property("Query", model.datatypes.String, f"signals={names}", semantic_id=_ref(_TS + "Query/1/1")),
        ], semantic_id=_ref(_TS + "Segments/LinkedSegment/1/1"))
        parts: list[model.SubmodelElement] = [linked]
        rows = self.records.get(twin.id)
        if rows:
            parts.append(self.internal_segment(twin, signals, rows))
        segments = model.SubmodelElementCollection("Segments", parts, semantic_id=_ref(_TS + "Segments/1/1"))
        return model.Submodel(self.ids.submodel("TimeSeries", twin.id), [metadata, segments], id_short="TimeSeries",
                              semantic_id=_ref(SEM_TIME_SERIES))

    def internal_segment(self, twin: Twin, signals: list[Signal],
                         rows: Sequence[tuple[str, Mapping[str, Any]]]) -> model.SubmodelElementCollection:
        """The last values from the store, as records inside the submodel."""
        records: list[model.SubmodelElement] = []
        for i, (ts, values) in enumerate(rows):
            fields: list[model.SubmodelElement] = [
                model.Property("Time", model.datatypes.String, ts, semantic_id=_ref(_TS + "UtcTime/1/1"))]
            for sig in signals:
                value = _signal_value(sig, values.get(sig.name))
                if value is not None:
                    fields.append(model.Property(id_short(sig.name), _signal_type(sig), value,
                                                 semantic_id=_ref(self.signal_concept(twin, sig))))
            records.append(model.SubmodelElementCollection(f"Record{i + 1}", fields,
                                                           semantic_id=_ref(_TS + "Record/1/1")))
        return model.SubmodelElementCollection("LastValues", [
            _mlp("Name", f"last {len(rows)} values of {twin.id}", _TS + "Segment/Name/1/1"),
            model.Property("RecordCount", model.datatypes.Long, len(rows),
                           semantic_id=_ref(_TS + "Segment/RecordCount/1/1")),
            model.Property("StartTime", model.datatypes.String, rows[0][0],
                           semantic_id=_ref(_TS + "Segment/StartTime/1/1")),
            model.Property("EndTime", model.datatypes.String, rows[-1][0],
                           semantic_id=_ref(_TS + "Segment/EndTime/1/1")),
            model.SubmodelElementCollection("Records", records, semantic_id=_ref(_TS + "Records/1/1")),
        ], semantic_id=_ref(_TS + "Segments/InternalSegment/1/1"))

    def hierarchy(self, twin: Twin, children: list[str]) -> model.Submodel:
        nodes: list[model.SubmodelElement] = [
            model.Entity(id_short(c.rsplit("/", 1)[-1]), model.EntityType.SELF_MANAGED_ENTITY,
                         global_asset_id=self.ids.asset(c), semantic_id=_ref(SEM_ENTITY_NODE))
            for c in children
        ]
        entry = model.Entity("EntryNode", model.EntityType.SELF_MANAGED_ENTITY, statement=nodes,
                             global_asset_id=self.ids.asset(twin.id), semantic_id=_ref(SEM_ENTITY_ENTRY))
        sm = model.Submodel(self.ids.submodel("HierarchicalStructures", twin.id), [
            model.Property("ArcheType", model.datatypes.String, "OneDown", semantic_id=_ref(SEM_ARCHE_TYPE)),
            entry,
        ], id_short="HierarchicalStructures", semantic_id=_ref(SEM_HIERARCHY))
        entry_ref = model.ModelReference.from_referable(entry)
        for i, node in enumerate(nodes):
            entry.statement.add(model.RelationshipElement(
                f"HasPart{i + 1}", entry_ref, model.ModelReference.from_referable(node),
                semantic_id=_ref(SEM_HAS_PART)))
        return sm

    def relationships(self, twin: Twin) -> model.Submodel | None:
        edges = [r for r in self.plant.relationships if r.source == twin.id and r.name != "contains"]
        if not edges:
            return None
        elements = [
            model.RelationshipElement(
                id_short(f"{r.name}_{i + 1}"),
                _shell_ref(self.ids.shell(r.source)), _shell_ref(self.ids.shell(r.target)),
                semantic_id=_ref(f"urn:twinverse:semantic:relationship:{r.name}"),
                description=model.MultiLanguageTextType({"en": f"{r.source} {r.name} {r.target}"}),
            )
            for i, r in enumerate(edges)
        ]
        return model.Submodel(self.ids.submodel("Relationships", twin.id), elements, id_short="Relationships",
                              semantic_id=_ref(SEM_RELATIONSHIPS))

    def carbon(self, twin: Twin) -> model.Submodel | None:
        power = self.plant.types[twin.type].power
        if not power or self.grid_factor is None:
            return None
        footprints = []
        for state, kw in power.items():
            cid = self.concept(("pcf", twin.type, state), f"CO2e of one hour {state}", "kg",
                               f"kg CO2e emitted for the electricity of one hour in state {state} "
                               f"({kw} kW at {self.grid_factor} kg CO2e/kWh)")
            footprints.append(model.SubmodelElementCollection(id_short(f"ProductCarbonFootprint_{state}"), [
                model.Property("PCFCalculationMethod", model.datatypes.String, "GHG Protocol",
                               semantic_id=_ref(_PCF_SEM["PCFCalculationMethod"])),
                model.Property("PCFCO2eq", model.datatypes.Double, round(float(kw) * self.grid_factor, 9),
                               semantic_id=_ref(cid)),
                model.Property("PCFReferenceValueForCalculation", model.datatypes.String, "h",
                               semantic_id=_ref(_PCF_SEM["PCFReferenceValueForCalculation"])),
                model.Property("PCFQuantityOfMeasureForCalculation", model.datatypes.Double, 1.0,
                               semantic_id=_ref(_PCF_SEM["PCFQuantityOfMeasureForCalculation"])),
                model.Property("PCFLifeCyclePhase", model.datatypes.String, "B6 - operational energy use",
                               semantic_id=_ref(_PCF_SEM["PCFLifeCyclePhase"])),
            ], semantic_id=_ref(_PCF + "ProductCarbonFootprint/0/9")))
        return model.Submodel(self.ids.submodel("CarbonFootprint", twin.id), footprints, id_short="CarbonFootprint",
                              semantic_id=_ref(_PCF + "CarbonFootprint/0/9"))

    # -- shells -----------------------------------------------------------------------------
    def shell(self, twin: Twin, root: bool) -> None:
        asset_id = self.ids.asset(twin.id)
        submodels: list[model.Submodel] = [self.nameplate(twin, asset_id), self.technical(twin)]
        if self.plant.types[twin.type].signals:
            submodels += [self.operational(twin), self.time_series(twin)]
        children = self.plant.children(twin.id)
        if children:
            submodels.append(self.hierarchy(twin, children))
        for extra in (self.relationships(twin), self.carbon(twin)):
            if extra is not None:
                submodels.append(extra)
        extensions = [model.Extension(TWIN_EXTENSION, model.datatypes.String, twin.id)]
        doc = getattr(self.plant, "located_doc", None)
        if root and doc is not None and isinstance(doc.data, Mapping):
            plant_doc = {k: v for k, v in doc.data.items() if k != "aas"}
            if self.preserved.get("twins"):  # which twins an import made from other tools' shells
                plant_doc["aas"] = {"twins": self.preserved["twins"]}
            extensions.append(model.Extension(PLANT_EXTENSION, model.datatypes.String,
                                              json.dumps(plant_doc, default=str)))
        refs = {model.ModelReference.from_referable(sm) for sm in submodels}
        kept = self.preserved.get("shells", {}).get(twin.id, {})
        for sid in kept.get("submodels", []) if isinstance(kept, Mapping) else []:
            refs.add(model.ModelReference((model.Key(model.KeyTypes.SUBMODEL, str(sid)),), model.Submodel))
        ttype = self.plant.types[twin.type]
        shell = model.AssetAdministrationShell(
            model.AssetInformation(model.AssetKind.INSTANCE, global_asset_id=asset_id, asset_type=twin.type),
            self.ids.shell(twin.id), id_short=id_short(twin.id),
            display_name=model.MultiLanguageNameType({"en": twin.name[:128] or twin.id[:128]}),
            description=model.MultiLanguageTextType({"en": ttype.description}) if ttype.description else None,
            submodel=refs, extension=extensions,
        )
        self.store.add(shell)
        for sm in submodels:
            self.store.add(sm)

    def kept_objects(self) -> None:
        """Add the shells, submodels and concept descriptions preserved by an import."""
        generated = {o.id for o in self.store}
        for key in ("foreign_shells", "submodels", "concept_descriptions"):
            for i, data in enumerate(self.preserved.get(key, []) or []):
                obj = _decode(data, f"aas.{key}[{i}]")
                if obj.id in generated:
                    raise InputError(f"aas.{key}[{i}]: identifier {obj.id!r} is also generated from the plant")
                self.store.add(obj)
        for twin, shell_id in (self.preserved.get("twins", {}) or {}).items():
            if twin in self.plant.twins:
                self.write_back(self.plant.twins[twin], str(shell_id))

    def write_back(self, twin: Twin, shell_id: str) -> None:
        """Edited properties of a twin made from another tool's shell, into that shell's submodels."""
        try:
            shell = self.store.get_identifiable(shell_id)
        except KeyError:
            raise InputError(f"aas.twins: twin {twin.id!r} names shell {shell_id!r}, which is not kept") from None
        if not isinstance(shell, model.AssetAdministrationShell):
            return
        for ref in shell.submodel:
            try:
                sm = self.store.get_identifiable(ref.key[0].value)
            except KeyError:
                continue
            if isinstance(sm, model.Submodel):
                _write_values(sm.submodel_element, sm.id_short or "submodel", twin)


def _write_values(elements: Iterable[model.SubmodelElement], prefix: str, twin: Twin) -> None:
    """Set each Property (and English MultiLanguageProperty text) keyed in the twin's properties."""
    for i, el in enumerate(elements):
        key = f"{prefix}.{el.id_short if el.id_short else i}"
        if isinstance(el, (model.SubmodelElementCollection, model.SubmodelElementList)):
            _write_values(el.value, key, twin)
        if key not in twin.properties:
            continue
        value = twin.properties[key]
        if isinstance(el, model.Property) and value != el.value:
            try:
                el.value = model.datatypes.from_xsd(str(value).lower() if isinstance(value, bool) else str(value),
                                                    el.value_type)
            except ValueError as exc:
                raise InputError(f"twin {twin.id!r}: property {key!r}: {value!r} is not a valid "
                                 f"{model.datatypes.XSD_TYPE_NAMES[el.value_type]}") from exc
        elif isinstance(el, model.MultiLanguageProperty) and isinstance(value, str):
            texts = dict(el.value or {})
            if texts.get("en", next(iter(texts.values()), None)) != value:
                texts["en"] = value
                el.value = model.MultiLanguageTextType(texts)


def _decode(data: Any, where: str) -> model.Identifiable:
    """A preserved object (AAS JSON) back into a basyx object."""
    try:
        text = json.dumps(data)
        obj = json.loads(text, cls=StrictAASFromJsonDecoder)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InputError(f"{where}: not a valid AAS object: {exc}") from exc
    if not isinstance(obj, model.Identifiable):
        raise InputError(f"{where}: not an AAS shell, submodel or concept description")
    return obj


def build_environment(
    plant: Plant,
    *,
    root: str | None = None,
    live: LiveValue | None = None,
    api_base: str = "http://127.0.0.1:8000",
    grid_factor: float | None = None,
    records: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] | None = None,
) -> model.DictObjectStore[model.Identifiable]:
    """The AAS environment of ``plant`` (or of the subtree of twin ``root``).

    ``live`` gives the values written into the Operational Data properties; ``api_base`` is
    the twinverse server the Time Series segments link to; ``grid_factor`` (kg CO2e per kWh,
    default the plant's ``simulation.grid_factor``) turns power per state into carbon
    footprints; ``records`` (twin id → ``[(ISO time, {signal: value})]``, e.g. from
    :func:`~twinverse.interop.aas.records.last_records`) adds a Time Series internal segment
    with those values.

    >>> from twinverse.model import loads_plant
    >>> p = loads_plant("plant: p\\ntypes: {m: {signals: {t: {unit: degC}}}}\\ntwins: [{id: a, type: m}]")
    >>> env = build_environment(p)
    >>> sorted(o.id for o in env if isinstance(o, model.AssetAdministrationShell))
    ['urn:twinverse:p:aas:p', 'urn:twinverse:p:aas:p/a']
    """
    doc = getattr(plant, "aas_doc", None)
    if grid_factor is None:
        declared = (plant.simulation_doc or {}).get("grid_factor")
        grid_factor = float(declared) if isinstance(declared, (int, float)) else None
    b = _Builder(plant, Ids(plant_base(plant)), api_base.rstrip("/"), live, grid_factor, records or {},
                 preserved=doc if isinstance(doc, Mapping) else {})
    twins: Iterable[str] = plant.subtree(root) if root is not None else plant.twins
    if root is not None:
        plant.twin(root)
    foreign = b.preserved.get("twins", {}) or {}  # twins an import made from other tools' shells
    for tid in twins:
        if tid not in foreign:
            b.shell(plant.twins[tid], root=tid == plant.id)
    for cd in b.concepts.values():
        b.store.add(cd)
    if root is None or root == plant.id:
        b.kept_objects()
    return b.store
