"""The DTDL parser: known element ids and values, inheritance, and located errors for bad input."""

from __future__ import annotations

from typing import Any

import pytest

from twinverse.interop.dtdl import DtdlError, parse_models

V3 = "dtmi:dtdl:context;3"


def iface(dtmi: str, **body: Any) -> dict[str, Any]:
    return {"@context": V3, "@id": dtmi, "@type": "Interface", **body}


def causes(docs: list[Any], **kw: Any) -> list[str]:
    with pytest.raises(DtdlError) as info:
        parse_models(docs, **kw)
    return [e.cause for e in info.value.errors]


def test_generated_ids_and_values_follow_dtdlparser() -> None:
    ms = parse_models(
        [
            iface(
                "dtmi:ex:Pump;1",
                displayName={"en": "Pump", "de": "Pumpe"},
                contents=[
                    {"@type": "Telemetry", "name": "flow", "schema": "double"},
                    {"@type": "Property", "name": "mode", "writable": True,
                     "schema": {"@type": "Enum", "valueSchema": "string",
                                "enumValues": [{"name": "auto", "enumValue": "A"},
                                               {"name": "hand", "enumValue": "H"}]}},
                    {"@type": "Relationship", "name": "feeds", "target": "dtmi:ex:Tank;1", "maxMultiplicity": 4},
                ],
            )
        ]
    )
    pump = ms["dtmi:ex:Pump;1"]
    assert pump.properties["displayName"] == {"en": "Pump", "de": "Pumpe"}
    assert pump.properties["contents"] == [
        "dtmi:ex:Pump:_contents:__flow;1",
        "dtmi:ex:Pump:_contents:__mode;1",
        "dtmi:ex:Pump:_contents:__feeds;1",
    ]
    assert ms["dtmi:ex:Pump:_contents:__flow;1"].properties["schema"] == "dtmi:dtdl:instance:Schema:double;3"
    enum = ms["dtmi:ex:Pump:_contents:__mode:_schema;1"]
    assert enum.cls == "Enum"
    assert [ms[v].properties["enumValue"] for v in enum.properties["enumValues"]] == ["A", "H"]
    rel = ms["dtmi:ex:Pump:_contents:__feeds;1"]
    assert (rel.properties["target"], rel.properties["maxMultiplicity"]) == ("dtmi:ex:Tank;1", 4)


def test_inherited_contents_are_resolved_through_extends() -> None:
    ms = parse_models(
        [
            iface("dtmi:ex:Asset;1", contents=[{"@type": "Property", "name": "serial", "schema": "string"}]),
            iface("dtmi:ex:Machine;1", extends="dtmi:ex:Asset;1",
                  contents=[{"@type": "Telemetry", "name": "speed", "schema": "double"}]),
            iface("dtmi:ex:Filler;1", extends=["dtmi:ex:Machine;1"]),
        ]
    )
    assert ms.ancestors("dtmi:ex:Filler;1") == ["dtmi:ex:Machine;1", "dtmi:ex:Asset;1"]
    assert sorted(ms.contents("dtmi:ex:Filler;1")) == ["serial", "speed"]


def test_v2_semantic_type_and_unit() -> None:
    ms = parse_models(
        [{"@context": "dtmi:dtdl:context;2", "@id": "dtmi:ex:T;1", "@type": "Interface",
          "contents": [{"@type": ["Telemetry", "Temperature"], "name": "t", "schema": "double",
                        "unit": "degreeCelsius"}]}]
    )
    t = ms["dtmi:ex:T:_contents:__t;1"]
    assert (t.cotypes, t.properties["unit"]) == (("Temperature",), "degreeCelsius")


def test_a_cycle_in_extends_is_a_located_error() -> None:
    docs = [("a.json", iface("dtmi:ex:A;1", extends="dtmi:ex:B;1")),
            ("b.json", iface("dtmi:ex:B;1", extends="dtmi:ex:A;1"))]
    with pytest.raises(DtdlError) as info:
        parse_models(docs)
    err = info.value.errors[0]
    assert err.cause == "recursiveStructureNarrow"
    assert (err.file, err.element) == ("a.json", "dtmi:ex:A;1")
    assert str(err).startswith("a.json: $: dtmi:ex:A;1: extends forms a cycle: dtmi:ex:A;1 → dtmi:ex:B;1 → dtmi:ex:A;1")


def test_a_missing_component_schema_is_a_located_error() -> None:
    docs = [("pump.json", iface("dtmi:ex:Pump;1",
                                contents=[{"@type": "Component", "name": "motor", "schema": "dtmi:ex:Motor;1"}]))]
    with pytest.raises(DtdlError) as info:
        parse_models(docs)
    err = info.value.errors[0]
    assert (err.cause, err.file, err.element, err.path) == (
        "idReference", "pump.json", "dtmi:ex:Pump:_contents:__motor;1", "$.contents[0].schema")


def test_a_resolver_supplies_what_the_documents_reference() -> None:
    asked: list[list[str]] = []

    def resolve(ids: list[str]) -> list[Any]:
        asked.append(ids)
        return [iface("dtmi:ex:Motor;1")]

    ms = parse_models([iface("dtmi:ex:Pump;1", contents=[{"@type": "Component", "name": "m",
                                                           "schema": "dtmi:ex:Motor;1"}])], resolver=resolve)
    assert asked == [["dtmi:ex:Motor;1"]]
    assert "dtmi:ex:Motor;1" in ms


@pytest.mark.parametrize(
    ("doc", "cause"),
    [
        ({"@id": "dtmi:ex:A;1", "@type": "Interface"}, "missingContext"),
        (iface("urn:ex:A"), "invalidId"),
        (iface("dtmi:dtdl:A;1"), "reservedId"),
        ({"@context": V3, "@id": "dtmi:ex:A;1", "@type": "Array", "elementSchema": "double"}, "typeNotRootable"),
        (iface("dtmi:ex:A;1", contents=[{"@type": "Telemetry", "name": "x"}]), "missingObjectProperty"),
        (iface("dtmi:ex:A;1", contents=[{"@id": "dtmi:ex:c;1", "@type": "Command"}]), "missingLiteralProperty"),
        (iface("dtmi:ex:A;1", contents=[{"@type": "Command"}]), "missingDtmiSegPropertyValue"),
        (iface("dtmi:ex:A;1", foo=1), "propertyUndefinedTerm"),
        (iface("dtmi:ex:A;1", contents=[{"@type": "Sensor", "name": "x"}]), "typeUndefinedTerm"),
        (iface("dtmi:ex:A;1", contents=[{"@type": "Content", "name": "x"}]), "badType"),
        (iface("dtmi:ex:A;1", contents=[{"@type": "Telemetry", "name": "x", "schema": "double"},
                                         {"@type": "Property", "name": "x", "schema": "double"}]),
         "nonUniquePropertyValue"),
        (iface("dtmi:ex:A;1", schemas=[{"@id": "dtmi:ex:R;1", "@type": "Array", "elementSchema": "dtmi:ex:R;1"}]),
         "recursiveStructureWide"),
    ],
)
def test_bad_documents_name_dtdlparser_validation_ids(doc: dict[str, Any], cause: str) -> None:
    assert causes([doc])[0] == cause


def test_undefined_extensions_only_with_the_option() -> None:
    doc = {"@context": [V3, "dtmi:ex:extension:x;1"], "@id": "dtmi:ex:A;1", "@type": "Interface"}
    assert causes([doc]) == ["unresolvableContextSpecifier"]
    assert "dtmi:ex:A;1" in parse_models([doc], allow_undefined_extensions=True)
