"""TrustService: the composed trust layer (model recording here; access and assets have their own tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson

from twinverse.model import load_plant, loads_plant
from twinverse.trust import TrustService


def test_record_model_logs_each_version_of_the_model_once(
    trust: TrustService, tmp_path: Path, bottling_path: Path
) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(bottling_path.read_text())
    plant = load_plant(plant_file)
    index = trust.record_model(plant, tenant="default")
    assert index is not None
    record = orjson.loads(trust.ledger.entry(index))
    assert (record["action"], record["target"]) == ("plant.model.loaded", f"plant:{plant.id}")
    assert record["body_sha256"] == hashlib.sha256(plant_file.read_bytes()).hexdigest()
    assert record["details"] == {**plant.summary(), "file": "plant.yaml"}
    assert (record["actor"], record["tenant"]) == (trust.local_admin("default").id, "default")

    size = trust.ledger.size
    assert trust.record_model(plant) is None and trust.ledger.size == size  # unchanged: nothing logged

    plant_file.write_text(plant_file.read_text().replace("name: Bottling plant (demo)", "name: Bottling plant 2"))
    changed = trust.record_model(load_plant(plant_file))
    assert changed is not None and changed > index
    assert orjson.loads(trust.ledger.entry(changed))["details"]["name"] == "Bottling plant 2"


def test_record_model_remembers_across_restarts(tmp_path: Path, bottling_path: Path) -> None:
    plant = load_plant(bottling_path)
    first = TrustService(tmp_path / "data", synchronous="OFF")
    try:
        assert first.record_model(plant) is not None
    finally:
        first.close()
    again = TrustService(tmp_path / "data", synchronous="OFF")
    try:
        assert again.record_model(plant) is None
    finally:
        again.close()


def test_a_model_without_a_file_is_not_recorded(trust: TrustService, bottling_path: Path) -> None:
    plant = loads_plant(bottling_path.read_text())
    assert plant.source is None or not Path(plant.source).is_file()
    assert trust.record_model(plant) is None
    assert trust.ledger.size == 0
