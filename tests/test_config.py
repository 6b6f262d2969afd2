"""Settings from defaults, twinverse.toml, TWINVERSE_* variables and arguments, with located errors."""

# ruff: noqa: E501  (expected messages are compared whole, one per line)
from __future__ import annotations

import os
from pathlib import Path

import pytest

from twinverse.config import Settings, load_settings
from twinverse.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No TWINVERSE_* variable or twinverse.toml of the machine leaks into these tests."""
    for k in list(os.environ):
        if k.startswith("TWINVERSE_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults() -> None:
    s = load_settings()
    assert s.data_dir == Path("data")
    assert s.plant is None
    assert (s.store, s.store_url, s.broker, s.host, s.port) == ("duckdb", "duckdb", None, "127.0.0.1", 8000)
    assert s.max_body_bytes == 64 * 1024 * 1024
    assert s.ws_max_rate == 30.0
    assert s.mqtt_topic == "twinverse/{twin}/{signal}"


def test_precedence_argument_env_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "twinverse.toml").write_text('data_dir = "/srv/tv"\nport = 9000\nstore = "x.duckdb"\n')
    s = load_settings()
    assert (s.data_dir, s.port, s.store) == (Path("/srv/tv"), 9000, "x.duckdb")
    monkeypatch.setenv("TWINVERSE_PORT", "9100")
    assert load_settings().port == 9100
    assert load_settings().data_dir == Path("/srv/tv")  # other fields still from the file
    assert load_settings(port=9200).port == 9200
    assert load_settings(port=None).port == 9100  # None means "not given" (CLI options)


def test_config_file_from_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "elsewhere.toml"
    conf.write_text('broker = "mqtt://127.0.0.1:1883"\nws_max_rate = 5\n')
    monkeypatch.setenv("TWINVERSE_CONFIG", str(conf))
    s = load_settings()
    assert (s.broker, s.ws_max_rate) == ("mqtt://127.0.0.1:1883", 5.0)


def test_missing_config_file_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINVERSE_CONFIG", "/nonexistent/twinverse.toml")
    assert load_settings().port == 8000


def test_bad_value_in_file_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "twinverse.toml").write_text('port = "eighty"\n')
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert (
        str(exc.value)
        == "invalid settings: twinverse.toml: port: Input should be a valid integer, unable to parse string as an integer"
    )
    assert exc.value.details[0].location.path == "port"


def test_bad_value_in_environment_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "twinverse.toml").write_text("port = 9000\n")
    monkeypatch.setenv("TWINVERSE_PORT", "abc")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value).startswith("invalid settings: $TWINVERSE_PORT: port: Input should be a valid integer")


def test_bad_argument() -> None:
    with pytest.raises(
        ConfigError, match=r"^invalid settings: max_body_bytes: Input should be greater than or equal to 1024$"
    ):
        load_settings(max_body_bytes=10)
    with pytest.raises(ConfigError, match="ws_max_rate"):
        load_settings(ws_max_rate=0)


def test_unknown_field_in_file(tmp_path: Path) -> None:
    (tmp_path / "twinverse.toml").write_text("colour = 1\n")
    with pytest.raises(ConfigError, match=r"twinverse.toml: colour: Extra inputs are not permitted"):
        load_settings()


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "twinverse.toml").write_text("port = \n")
    with pytest.raises(ConfigError, match=r"^twinverse.toml: cannot read settings: .*line 1"):
        load_settings()


def test_settings_direct() -> None:
    s = Settings(data_dir=Path("/tmp/x"), max_body_bytes=4096)
    assert s.max_body_bytes == 4096
