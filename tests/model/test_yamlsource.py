"""YAML reading with a line for every field, YAML 1.2 booleans and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinverse.errors import ModelLoadError
from twinverse.model import yamlsource
from twinverse.model.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, format_path, read_yaml


def problems(exc: pytest.ExceptionInfo[ModelLoadError]) -> list[str]:
    return [str(p) for p in exc.value.details]


def test_format_path() -> None:
    assert format_path(()) == ""
    assert format_path(("twins",)) == "twins"
    assert format_path(("twins", 0, "children", 2, "id")) == "twins[0].children[2].id"
    assert format_path(("types", "filler", "signals", "state")) == "types.filler.signals.state"


def test_lines_of_every_field() -> None:
    text = "plant: p\ntwins:\n  - id: a\n    type: cell\n  - {id: b, type: line}\n"
    doc = read_yaml("f.yaml", text=text)
    assert doc.data == {"plant": "p", "twins": [{"id": "a", "type": "cell"}, {"id": "b", "type": "line"}]}
    assert doc.lines[("plant",)] == 1
    assert doc.lines[("twins",)] == 3  # a block sequence starts at its first item
    assert doc.lines[("twins", 0, "type")] == 4
    assert doc.lines[("twins", 1, "id")] == 5
    loc = doc.locate(("twins", 1, "type"))
    assert (loc.file, loc.line, loc.path) == ("f.yaml", 5, "twins[1].type")


def test_locate_falls_back_to_nearest_ancestor() -> None:
    doc = read_yaml("f.yaml", text="plant: p\ntwins:\n  - id: a\n    type: cell\n")
    loc = doc.locate(("twins", 0, "children", 3, "id"))
    assert loc.line == 3
    assert loc.path == "twins[0].children[3].id"
    assert str(doc.problem(("twins", 0, "nope"), "bad")) == "f.yaml:3: twins[0].nope: bad"


def test_yaml_12_booleans() -> None:
    """Only true/false are booleans: a state named 'off' or 'on' must stay a string."""
    doc = read_yaml("f.yaml", text="plant: p\nstates: [on, off, yes, no, y, n, On, OFF]\nflags: [true, false, True]\n")
    assert doc.data["states"] == ["on", "off", "yes", "no", "y", "n", "On", "OFF"]
    assert doc.data["flags"] == [True, False, True]


def test_scalars_keep_their_types() -> None:
    text = "plant: p\na: 1\nb: 2.5\nc: 1.0e3\nd: 1e-2\ne: null\nf: '01'\ng: .inf\nh: '1e3'\n"
    doc = read_yaml("f.yaml", text=text)
    # YAML 1.2 floats with an exponent (PyYAML alone reads '1e-2' as a string); quoted stays text.
    assert doc.data == {
        "plant": "p",
        "a": 1,
        "b": 2.5,
        "c": 1000.0,
        "d": 0.01,
        "e": None,
        "f": "01",
        "g": float("inf"),
        "h": "1e3",
    }


def test_anchors_and_aliases_are_expanded() -> None:
    doc = read_yaml("f.yaml", text="plant: p\nx: &s [running, idle]\ny: *s\n")
    assert doc.data["y"] == ["running", "idle"]


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text="plant: p\ntypes:\n  a: [1, 2\nb: 3\n")
    (msg,) = problems(exc)
    assert msg.startswith("f.yaml:4: YAML syntax error: expected ',' or ']'")
    assert "at line 3" in msg  # where the unclosed sequence started


def test_tab_indentation_is_a_syntax_error() -> None:
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text="plant: p\n\tname: x\n")
    assert problems(exc) == ["f.yaml:2: YAML syntax error: found character '\\t' that cannot start any token"]


def test_several_documents_are_refused() -> None:
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text="plant: p\n---\nplant: q\n")
    assert problems(exc)[0].startswith("f.yaml:2: YAML syntax error")


def test_duplicate_keys_strict_and_lenient() -> None:
    text = "plant: p\nname: a\ntwins:\n  - id: x\n    id: y\nname: b\n"
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text=text)
    assert problems(exc) == ["f.yaml:5: twins[0].id: duplicate key 'id'", "f.yaml:6: name: duplicate key 'name'"]
    doc = read_yaml("f.yaml", text=text, strict=False)
    assert [str(p) for p in doc.problems] == problems(exc)
    assert doc.data["name"] == "b"  # the last one wins, as in every YAML reader


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "f.yaml:1: file is empty"),
        ("# only a comment\n", "f.yaml:1: file is empty"),
        ("- a\n- b\n", "f.yaml:1: top level must be a mapping"),
        ("just a string\n", "f.yaml:1: top level must be a mapping"),
        ("plant: p\n[a, b]: 1\n", "f.yaml:2: mapping keys must be scalars"),
        ("plant: p\nx: &a [1, *a]\n", "f.yaml:2: x[1]: an alias refers to a node that contains it"),
        (
            "plant: !!python/object:os.system p\n",
            "f.yaml:1: plant: unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
    ],
)
def test_bad_documents(text: str, message: str) -> None:
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text=text)
    assert problems(exc) == [message]


def test_merge_keys_are_refused_with_a_hint() -> None:
    text = "plant: p\ntypes:\n  base: &b {shape: box}\n  m:\n    <<: *b\n    size: [1, 1, 1]\n"
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("f.yaml", text=text)
    (msg,) = problems(exc)
    assert msg.startswith("f.yaml:5: types.m.<<: YAML merge keys ('<<') are not supported")
    assert "extends" in msg


def test_alias_bomb_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Billion laughs': nested aliases expand exponentially; reading stops at MAX_NODES."""
    monkeypatch.setattr(yamlsource, "MAX_NODES", 10_000)
    lines = ["plant: p", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    with pytest.raises(ModelLoadError) as exc:
        read_yaml("bomb.yaml", text="\n".join(lines) + "\n")
    (msg,) = problems(exc)
    assert msg.startswith("bomb.yaml:")
    assert "more than 10000 nodes" in msg


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as exc:
        read_yaml(tmp_path / "missing.yaml")
    assert problems(exc) == [f"{tmp_path / 'missing.yaml'}: cannot read file: No such file or directory"]
    with pytest.raises(ModelLoadError) as exc:
        read_yaml(tmp_path)
    assert problems(exc) == [f"{tmp_path}: cannot read file: Is a directory"]
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("plant: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ModelLoadError) as exc:
        read_yaml(latin)
    assert problems(exc) == [f"{latin}: file is not UTF-8 text"]


def test_reads_a_file(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("plant: p\nname: Plant\n", encoding="utf-8")
    doc = read_yaml(f)
    assert doc.file == str(f)
    assert doc.data == {"plant": "p", "name": "Plant"}
    assert doc.lines[("name",)] == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("plant: p\ntwins: " + "[" * 600 + "\n", 2, "nested too deeply"),  # flow nesting
        ("plant: p\nx:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(3000)), None, "nested too deeply"),
        ("plant: p\nname: " + "9" * 100_000 + "\n", 2, "name: value 99999999999999999999…(100000 characters)"),
    ],
    ids=["flow-600", "block-3000", "100k-digit-int"],
)
def test_pathological_yaml_is_a_located_problem(text: str, line: int | None, message: str) -> None:
    """No traceback: PyYAML's recursion and Python's int-digit limit become located problems."""
    with pytest.raises(ModelLoadError) as info:
        read_yaml("deep.yaml", text=text)
    [problem] = info.value.details
    assert (problem.location.file, problem.location.line) == ("deep.yaml", line)
    assert message in str(problem)


def test_nesting_past_the_depth_limit_is_located() -> None:
    text = "plant: p\nx:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(150))
    with pytest.raises(ModelLoadError) as info:
        read_yaml("deep.yaml", text=text)
    where = ".".join(["x", *(f"k{i}" for i in range(MAX_DEPTH - 1))])
    assert problems(info) == [f"deep.yaml:{MAX_DEPTH + 2}: {where}: document is nested deeper than {MAX_DEPTH} levels"]
    ok = "plant: p\nx:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(MAX_DEPTH - 1))
    assert read_yaml("ok.yaml", text=ok).data["plant"] == "p"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 1000)
    big = tmp_path / "big.yaml"
    big.write_text("plant: p\nname: " + "x" * 1000 + "\n", encoding="utf-8")
    with pytest.raises(ModelLoadError) as info:
        read_yaml(big)
    assert problems(info) == [f"{big}: file is 1016 bytes, above the limit of 1000 bytes for a plant file"]
    with pytest.raises(ModelLoadError) as info:
        read_yaml("t.yaml", text=big.read_text())
    assert problems(info) == ["t.yaml: text is 1016 characters, above the limit of 1000 for a plant file"]
    assert yamlsource.MAX_FILE_BYTES == 1000 and read_yaml("s.yaml", text="plant: p\n").data == {"plant": "p"}


def test_the_default_file_limit_is_64_mib() -> None:
    assert (MAX_FILE_BYTES, MAX_DEPTH) == (64 * 1024 * 1024, 100)


def test_a_large_document_without_aliases_is_not_an_alias_bomb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_NODES", 100)
    text = "plant: p\ntwins:\n" + "".join(f"  - {{id: m{i}, type: machine}}\n" for i in range(500))
    assert len(read_yaml("big.yaml", text=text).data["twins"]) == 500
    with pytest.raises(ModelLoadError) as exc:  # 101 expansions of one alias
        read_yaml("a.yaml", text="plant: p\nx: &x 1\ny: [" + ", ".join(["*x"] * 101) + "]\n")  # line: the anchor
    assert problems(exc) == ["a.yaml:2: y[100]: aliases add more than 100 nodes to the document "
                             "(aliases of aliases nested too deep?)"]


def test_libyaml_and_pyyaml_parsers_give_the_same_data_and_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path (libyaml) must locate every field exactly as PyYAML's own parser does."""
    import yaml

    example = Path(__file__).resolve().parents[2] / "examples" / "bottling.yaml"
    text = example.read_text() + "\nextra: {a: 1e3, b: 'x', c: [1, off, ~]}\n"
    fast = read_yaml("f.yaml", text=text)
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    slow = read_yaml("f.yaml", text=text)
    assert fast.data == slow.data and fast.data["extra"] == {"a": 1000.0, "b": "x", "c": [1, "off", None]}
    assert fast.lines == slow.lines and len(fast.lines) > 50
