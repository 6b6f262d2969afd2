"""DTDL import and export: round trips equal, RealEstateCore parsed, resolved, exported and re-parsed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml

from tests.interop.conftest import dtdl_types
from twinverse.errors import InputError
from twinverse.interop.dtdl import (
    DtdlError,
    ModelSet,
    import_adt,
    import_interfaces,
    modelset_to_dtdl,
    parse_models,
    plant_to_adt,
    plant_to_dtdl,
    read_adt,
)
from twinverse.model import Plant, loads_plant


def _same_plant(a: Plant, b: Plant) -> None:
    assert a.id == b.id and a.name == b.name
    assert dtdl_types(a) == dtdl_types(b)
    assert a.twins == b.twins
    assert sorted(map(repr, a.relationships)) == sorted(map(repr, b.relationships))


def test_export_is_valid_dtdl_v3_with_known_interfaces(plant: Plant) -> None:
    models = plant_to_dtdl(plant)
    ms = parse_models(models)
    filler = ms["dtmi:twinverse:bottling:filler;1"]
    assert filler.properties["extends"] == ["dtmi:twinverse:bottling:machine;1"]
    own = {ms[c].name for c in filler.properties["contents"]}
    assert own == {"temperature", "pressure", "fill_level", "valves", "nominal_fill_ml"}
    temp = ms["dtmi:twinverse:bottling:filler:_contents:__temperature;1"]
    assert (temp.cotypes, temp.properties["unit"]) == (("Temperature",), "degreeCelsius")
    state = ms["dtmi:twinverse:bottling:machine:_contents:__state:_schema;1"]
    names = [ms[v].name for v in state.properties["enumValues"]]
    assert names == ["running", "idle", "starved", "blocked", "down", "setup", "off"]
    # the inherited view of a filler holds the machine's signals too
    assert {"state", "speed", "temperature", "name", "position", "feeds"} <= set(ms.contents(filler.id))


def test_import_file_round_trip_gives_the_same_plant(plant: Plant) -> None:
    data = plant_to_adt(plant)
    models, twins, rels = read_adt(data.decode())
    assert (len(models), len(twins), len(rels)) == (15, 19, 33)
    assert twins[2] == {"$dtId": "bottling/utilities/air", "name": "Compressed air",
                        "$metadata": {"$model": "dtmi:twinverse:bottling:compressor;1"}}
    assert rels[-1] == {"$dtId": "bottling/line1/filler", "$relationshipId": "supplied_by-bottling/utilities/air",
                        "$targetId": "bottling/utilities/air", "$relationshipName": "supplied_by"}
    imported = import_adt(data.decode(), "plant.ndjson")
    assert imported.notes == []
    _same_plant(plant, loads_plant(yaml.safe_dump(imported.doc, sort_keys=False)))


def test_interfaces_round_trip_gives_the_same_types(plant: Plant) -> None:
    docs = [(f"m{i}.json", m) for i, m in enumerate(plant_to_dtdl(plant))]
    back = loads_plant(yaml.safe_dump(import_interfaces(docs, plant_id="bottling").doc))
    assert back.types == dtdl_types(plant)


def test_realestatecore_is_parsed_and_every_inherited_content_resolved(rec: ModelSet) -> None:
    interfaces = rec.interfaces()
    assert len(interfaces) == 767
    assert len(rec) == 1852
    for el in interfaces:
        names = set(rec.contents(el.id))
        for base in rec.ancestors(el.id):
            assert base in rec
            assert {rec[c].name for c in rec[base].properties.get("contents", [])} <= names
    space = rec.contents("dtmi:digitaltwins:rec_3_3:core:Space;1")
    assert {"isPartOf", "hasPart"} <= set(space)


def test_realestatecore_export_reparses_equal(rec: ModelSet) -> None:
    exported = modelset_to_dtdl(rec)
    assert len(exported) == 767
    again = parse_models(orjson.loads(orjson.dumps(exported)))
    assert again.as_dict() == rec.as_dict()


def test_realestatecore_imports_as_loadable_twin_types(rec_docs: list[tuple[str, Any]]) -> None:
    imported = import_interfaces(rec_docs, plant_id="rec")
    plant = loads_plant(yaml.safe_dump(imported.doc, sort_keys=False))
    assert len(imported.doc["types"]) == 767
    assert plant.types["Building"].extends == "Space"
    assert plant.is_a("Building", "Space")


def test_bad_import_files_are_located_errors(plant: Plant) -> None:
    with pytest.raises(InputError, match=r"^x.ndjson:2:2: not valid JSON"):
        import_adt('{"Section": "Header"}\n{oops\n', "x.ndjson")
    lines = plant_to_adt(plant).decode().splitlines()
    twin = next(i for i, line in enumerate(lines) if line.startswith('{"$dtId":"bottling/line1"'))
    lines[twin] = lines[twin].replace("dtmi:twinverse:bottling:line;1", "dtmi:twinverse:bottling:nope;1")
    with pytest.raises(DtdlError, match=r"bottling/line1.*nope"):
        import_adt("\n".join(lines), "x.ndjson")
