"""The platform composition: model changes go into the transparency log."""

from __future__ import annotations

from pathlib import Path

from twinverse.config import load_settings
from twinverse.platform import Platform


def test_model_is_logged_once_per_change(tmp_path: Path, bottling_path: Path) -> None:
    plant_file = tmp_path / "plant.yaml"
    plant_file.write_text(bottling_path.read_text())
    settings = load_settings(plant=plant_file, data_dir=tmp_path / "data", store=":memory:", seal_history=False)

    first = Platform(settings)
    index = first.record_model()
    assert index is not None
    size = first.trust.ledger.size
    assert first.record_model() is None  # unchanged model: nothing new
    assert first.trust.ledger.size == size
    first.stop()

    plant_file.write_text(plant_file.read_text().replace("name: Bottling plant (demo)", "name: Bottling plant 2"))
    second = Platform(settings)
    changed = second.record_model()
    assert changed is not None and changed > index
    entry = second.trust.ledger.entry(changed)
    assert b"plant.model.loaded" in entry and b"Bottling plant 2" in entry
    second.stop()
