"""AAS import: shells to twins, a lossless round trip, and located errors for bad files."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml
from basyx.aas import model

from tests.interop.conftest import checked, errors, normal, random_plant_yaml
from twinverse.errors import ModelLoadError
from twinverse.interop.aas import (
    AasFormat,
    build_environment,
    dumps_environment,
    import_environment,
    loads_environment,
    read_environment,
)
from twinverse.model import Plant, loads_plant


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def foreign_environment() -> model.DictObjectStore[model.Identifiable]:
    """What a machine builder delivers: a shell, a nameplate, a submodel twinverse does not know, a unit."""
    cd = model.ConceptDescription(
        "https://acme.example/cd/interval", id_short="interval",
        embedded_data_specifications=[model.EmbeddedDataSpecification(
            _ref("https://admin-shell.io/DataSpecificationTemplates/DataSpecificationIec61360/3"),
            model.DataSpecificationIEC61360(model.PreferredNameTypeIEC61360({"en": "service interval"}),
                                            data_type=model.DataTypeIEC61360.INTEGER_MEASURE,
                                            definition=model.DefinitionTypeIEC61360({"en": "hours between services"}),
                                            unit="h"))],
    )
    nameplate = model.Submodel("https://acme.example/sm/nameplate/7", [
        model.MultiLanguageProperty("ManufacturerName", model.MultiLanguageTextType({"en": "ACME", "de": "ACME"})),
        model.Property("SerialNumber", model.datatypes.String, "SN-7"),
    ], id_short="Nameplate", semantic_id=_ref("https://admin-shell.io/idta/nameplate/2/0/Nameplate"))
    maintenance = model.Submodel("https://acme.example/sm/maintenance/7", [
        model.SubmodelElementCollection("Plan", [
            model.Property("interval", model.datatypes.Int, 500, semantic_id=_ref(cd.id)),
        ]),
    ], id_short="Maintenance")
    shell = model.AssetAdministrationShell(
        model.AssetInformation(model.AssetKind.INSTANCE, global_asset_id="https://acme.example/asset/7",
                               asset_type="press"),
        "https://acme.example/aas/press-7", id_short="Press7",
        submodel={model.ModelReference.from_referable(nameplate), model.ModelReference.from_referable(maintenance)},
    )
    return model.DictObjectStore([shell, nameplate, maintenance, cd])


def test_twinverse_round_trip_is_exact(plant: Plant) -> None:
    first = build_environment(plant)
    text = import_environment(first)
    again = loads_plant(text)
    assert list(again.twins) == list(plant.twins)
    assert again.types == plant.types
    assert again.relationships == plant.relationships
    assert normal(build_environment(again)) == normal(first)
    assert "aas:" not in text  # nothing foreign to keep


@pytest.mark.parametrize("fmt", list(AasFormat))
def test_round_trip_through_every_format(plant: Plant, fmt: AasFormat) -> None:
    first = build_environment(plant)
    read = loads_environment(dumps_environment(first, fmt), fmt)
    assert normal(read) == normal(first)
    assert normal(build_environment(loads_plant(import_environment(read)))) == normal(first)


@pytest.mark.parametrize("seed", [5, 6])
def test_generated_plants_round_trip(seed: int) -> None:
    p = loads_plant(random_plant_yaml(seed))
    first = build_environment(p)
    assert normal(build_environment(loads_plant(import_environment(first)))) == normal(first)


def test_foreign_shells_become_twins_and_come_back_unchanged() -> None:
    env = foreign_environment()
    text = import_environment(env, plant_id="acme")
    doc = yaml.safe_load(text)
    twin = doc["twins"][0]
    assert (twin["id"], twin["type"], twin["name"]) == ("Press7", "press", "Press7")
    assert twin["properties"] == {"Nameplate.ManufacturerName": "ACME", "Nameplate.SerialNumber": "SN-7",
                                  "Maintenance.Plan.interval": 500}
    assert doc["aas"]["twins"] == {"acme/Press7": "https://acme.example/aas/press-7"}
    p = loads_plant(text)
    assert p.twins["acme/Press7"].properties["Maintenance.Plan.interval"] == 500
    out = normal(build_environment(p))
    before = normal(env)
    for key, objects in before.items():  # every shell, submodel and concept description, unchanged
        ids = {o["id"]: o for o in out[key]}
        for obj in objects:
            assert ids[obj["id"]] == obj
    # The unit and the semantic id survive: the concept description still says hours.
    cd = next(c for c in out["conceptDescriptions"] if c["id"] == "https://acme.example/cd/interval")
    assert cd["embeddedDataSpecifications"][0]["dataSpecificationContent"]["unit"] == "h"
    result = checked(dumps_environment(build_environment(p), AasFormat.XML), AasFormat.XML)
    assert result.ok(), errors(result)
    # Importing the export again gives the same plant document.
    assert yaml.safe_load(import_environment(build_environment(p), plant_id="acme")) == doc


def test_foreign_submodel_on_a_twinverse_shell_is_kept(plant: Plant) -> None:
    env = build_environment(plant)
    extra = model.Submodel("https://acme.example/sm/docs/filler", [
        model.Property("Manual", model.datatypes.String, "https://acme.example/manual.pdf")], id_short="Documents")
    shell = env.get_identifiable("urn:twinverse:bottling:aas:bottling/line1/filler")
    assert isinstance(shell, model.AssetAdministrationShell)
    shell.submodel.add(model.ModelReference.from_referable(extra))
    env.add(extra)
    doc = yaml.safe_load(import_environment(env))
    assert doc["aas"]["shells"] == {"bottling/line1/filler": {"submodels": ["https://acme.example/sm/docs/filler"]}}
    assert normal(build_environment(loads_plant(import_environment(env)))) == normal(env)


def _bad(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ModelLoadError) as info:
        read_environment(path)
    (problem,) = info.value.details
    assert problem.location.file == str(path)
    return str(problem)


def test_bad_files_are_located_errors(tmp_path: Path, plant: Plant) -> None:
    good = dumps_environment(build_environment(plant), AasFormat.AASX)
    assert "not an AASX package (a broken or non-zip file)" in _bad(tmp_path, "cut.aasx", good[: len(good) // 2])
    assert "not an AASX package (a broken or non-zip file)" in _bad(tmp_path, "text.aasx", b"hello")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("hello.txt", "hi")
    msg = _bad(tmp_path, "plain.aasx", plain.getvalue())
    assert "not an AASX package" in msg and "BytesIO" not in msg
    msg = _bad(tmp_path, "other.xml", b"<?xml version='1.0'?>\n<html><body/></html>")
    assert msg.endswith("other.xml:2: not an AAS environment: the root element is 'html', expected 'environment' "
                        "in the namespace https://admin-shell.io/aas/3/0")
    assert ":3: XML syntax error" in _bad(tmp_path, "broken.xml", b"<a>\n<b>\n</a>")
    assert "bad.json:1: JSON syntax error" in _bad(tmp_path, "bad.json", b'{"x": ')
    assert "not an AAS environment: expected an object" in _bad(tmp_path, "list.json", b"[1, 2]")
    shell_without_asset = json.dumps({"assetAdministrationShells": [
        {"id": "urn:x", "idShort": "x", "modelType": "AssetAdministrationShell"}]}).encode()
    assert "not a valid AAS environment" in _bad(tmp_path, "wrong.json", shell_without_asset)
    ns = b'<environment xmlns="https://admin-shell.io/aas/3/0"><assetAdministrationShells>' \
         b"<assetAdministrationShell><idShort>x</idShort></assetAdministrationShell>" \
         b"</assetAdministrationShells></environment>"
    assert "not a valid AAS environment" in _bad(tmp_path, "wrong.xml", ns)


def test_an_environment_without_shells_is_refused() -> None:
    with pytest.raises(ModelLoadError, match="holds no Asset Administration Shell"):
        import_environment(model.DictObjectStore())


def test_edited_properties_of_foreign_twins_are_written_back() -> None:
    from twinverse.errors import InputError

    doc = yaml.safe_load(import_environment(foreign_environment(), plant_id="acme"))
    doc["twins"][0]["properties"]["Maintenance.Plan.interval"] = 750
    doc["twins"][0]["properties"]["Nameplate.ManufacturerName"] = "ACME Presses"
    out = build_environment(loads_plant(yaml.safe_dump(doc)))
    sm = out.get_identifiable("https://acme.example/sm/maintenance/7")
    assert isinstance(sm, model.Submodel)
    plan = sm.get_referable("Plan")
    assert isinstance(plan, model.SubmodelElementCollection)
    interval = plan.get_referable("interval")
    assert isinstance(interval, model.Property)
    assert (interval.value, interval.value_type) == (750, model.datatypes.Int)
    nameplate = out.get_identifiable("https://acme.example/sm/nameplate/7")
    assert isinstance(nameplate, model.Submodel)
    name = nameplate.get_referable("ManufacturerName")
    assert isinstance(name, model.MultiLanguageProperty) and name.value is not None
    assert dict(name.value) == {"en": "ACME Presses", "de": "ACME"}
    doc["twins"][0]["properties"]["Maintenance.Plan.interval"] = "often"
    with pytest.raises(InputError, match=r"property 'Maintenance.Plan.interval': 'often' is not a valid xs:int"):
        build_environment(loads_plant(yaml.safe_dump(doc)))
