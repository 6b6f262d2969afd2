"""AAS export: the official checker (aas-test-engines ``check_file``) accepts every export; known contents."""

from __future__ import annotations

import pytest
from basyx.aas import model

from tests.interop.conftest import checked, errors, random_plant_yaml
from twinverse.errors import NotFoundError
from twinverse.interop.aas import AasFormat, build_environment, dumps_environment
from twinverse.model import Plant, loads_plant

F = "bottling/line1/filler"


@pytest.mark.parametrize("fmt", list(AasFormat))
def test_example_plant_export_passes_the_official_checker(plant: Plant, fmt: AasFormat) -> None:
    result = checked(dumps_environment(build_environment(plant), fmt), fmt)
    assert result.ok(), errors(result)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_generated_plants_pass_the_official_checker(seed: int) -> None:
    env = build_environment(loads_plant(random_plant_yaml(seed)))
    for fmt in AasFormat:
        result = checked(dumps_environment(env, fmt), fmt)
        assert result.ok(), (seed, fmt, errors(result))


def _by_id(env: model.DictObjectStore[model.Identifiable], ident: str) -> model.Identifiable:
    return env.get_identifiable(ident)


def test_one_shell_per_twin_with_the_asset_global_id(plant: Plant) -> None:
    env = build_environment(plant)
    shells = [o for o in env if isinstance(o, model.AssetAdministrationShell)]
    assert len(shells) == len(plant.twins) == 19
    shell = _by_id(env, f"urn:twinverse:bottling:aas:{F}")
    assert isinstance(shell, model.AssetAdministrationShell)
    assert shell.asset_information.global_asset_id == f"urn:twinverse:bottling:asset:{F}"
    assert shell.id_short == "bottling_line1_filler"
    kinds = sorted(ref.key[0].value.split(":")[4] for ref in shell.submodel)
    assert kinds == ["Nameplate", "OperationalData", "Relationships", "TechnicalData", "TimeSeries"]
    line = _by_id(env, "urn:twinverse:bottling:aas:bottling/line1")
    assert isinstance(line, model.AssetAdministrationShell)
    assert "HierarchicalStructures" in {ref.key[0].value.split(":")[4] for ref in line.submodel}


def test_submodels_carry_the_model(plant: Plant) -> None:
    env = build_environment(plant, api_base="http://twin.example:9000/")
    tech = _by_id(env, f"urn:twinverse:bottling:sm:TechnicalData:{F}")
    assert isinstance(tech, model.Submodel)
    props = tech.get_referable("TechnicalProperties")
    assert isinstance(props, model.SubmodelElementCollection)
    valves = props.get_referable("valves")
    assert isinstance(valves, model.Property) and valves.value == 60 and valves.value_type is model.datatypes.Long
    power = props.get_referable("PowerPerState")
    assert isinstance(power, model.SubmodelElementCollection)
    running = power.get_referable("running")
    assert isinstance(running, model.Property) and running.value == 22.0  # the filler overrides the machine's 8 kW
    # The unit of a signal is in the concept description its property points to.
    ops = _by_id(env, f"urn:twinverse:bottling:sm:OperationalData:{F}")
    assert isinstance(ops, model.Submodel)
    temp = ops.get_referable("temperature")
    assert isinstance(temp, model.Property) and temp.value is None  # no live values in a file export
    assert [q.value for q in temp.qualifier] == ["temperature"]
    assert temp.semantic_id is not None
    cd = _by_id(env, temp.semantic_id.key[0].value)
    assert isinstance(cd, model.ConceptDescription)
    content = next(iter(cd.embedded_data_specifications)).data_specification_content
    assert isinstance(content, model.DataSpecificationIEC61360) and content.unit == "degC"
    ts = _by_id(env, f"urn:twinverse:bottling:sm:TimeSeries:{F}")
    assert isinstance(ts, model.Submodel)
    segments = ts.get_referable("Segments")
    assert isinstance(segments, model.SubmodelElementCollection)
    history = segments.get_referable("History")
    assert isinstance(history, model.SubmodelElementCollection)
    endpoint = history.get_referable("Endpoint")
    assert isinstance(endpoint, model.Property)
    assert endpoint.value == f"http://twin.example:9000/api/twins/{F}/history"


def test_hierarchy_and_relationships(plant: Plant) -> None:
    env = build_environment(plant)
    hs = _by_id(env, "urn:twinverse:bottling:sm:HierarchicalStructures:bottling/line1")
    assert isinstance(hs, model.Submodel)
    entry = hs.get_referable("EntryNode")
    assert isinstance(entry, model.Entity)
    nodes = [s for s in entry.statement if isinstance(s, model.Entity)]
    parts = [s for s in entry.statement if isinstance(s, model.RelationshipElement)]
    assert len(nodes) == len(parts) == len(plant.children("bottling/line1"))
    rels = _by_id(env, f"urn:twinverse:bottling:sm:Relationships:{F}")
    assert isinstance(rels, model.Submodel)
    feeds = [e for e in rels.submodel_element if e.id_short and e.id_short.startswith("feeds")]
    targets = [e.second.key[0].value for e in feeds if isinstance(e, model.RelationshipElement)]
    assert targets == [f"urn:twinverse:bottling:aas:{t}" for t in plant.downstream(F, "feeds")[:1]]


def test_one_twin_exports_its_subtree(plant: Plant) -> None:
    env = build_environment(plant, root="bottling/line1")
    shells = sorted(o.id for o in env if isinstance(o, model.AssetAdministrationShell))
    assert len(shells) == len(plant.subtree("bottling/line1"))
    assert "urn:twinverse:bottling:aas:bottling" not in shells
    with pytest.raises(NotFoundError):
        build_environment(plant, root="bottling/nope")


def test_carbon_footprint_from_power_per_state(plant: Plant) -> None:
    env = build_environment(plant, grid_factor=0.5366)
    pcf = _by_id(env, f"urn:twinverse:bottling:sm:CarbonFootprint:{F}")
    assert isinstance(pcf, model.Submodel)
    running = pcf.get_referable("ProductCarbonFootprint_running")
    assert isinstance(running, model.SubmodelElementCollection)
    co2 = running.get_referable("PCFCO2eq")
    assert isinstance(co2, model.Property) and co2.value == pytest.approx(22 * 0.5366)
    assert co2.semantic_id is not None
    cd = _by_id(env, co2.semantic_id.key[0].value)
    assert isinstance(cd, model.ConceptDescription)
    for fmt in AasFormat:
        result = checked(dumps_environment(env, fmt), fmt)
        assert result.ok(), errors(result)
    # No grid factor, no carbon figures: no footprint.
    with pytest.raises(KeyError):
        build_environment(plant).get_identifiable(f"urn:twinverse:bottling:sm:CarbonFootprint:{F}")
