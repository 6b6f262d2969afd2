"""The plant editor in the browser: CodeMirror 6 with the server's validator as lint markers."""

from __future__ import annotations

import json
import statistics
import urllib.request
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import Console, save_artifact
from tests.server import Server
from twinverse.platform import example_path

KIND_ERROR = "types.machine.signals.state.kind: Input should be 'float', 'int', 'bool' or 'state'"


def _validate(url: str, text: str) -> dict[str, Any]:
    body = json.dumps({"text": text, "file": "bottling.yaml"}).encode()
    req = urllib.request.Request(url + "/api/plant/validate", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


def _state(page: Any) -> dict[str, Any]:
    out: dict[str, Any] = page.evaluate("() => window.__twinverse.editor.state()")
    return out


def test_markers_follow_the_servers_validator_and_completion_offers_types(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    page.locator("#editor-open").click()
    page.wait_for_function("() => window.__twinverse.editor.state().valid === true", timeout=30_000)
    assert page.evaluate("() => window.__twinverse.editor.text()") == example_path("bottling.yaml").read_text()
    assert page.locator("#editor-status").inner_text() == "valid · 19 twins, 71 signals"

    # one keystroke breaks a signal kind: the server's problems come back as markers on their lines
    page.evaluate("() => window.__twinverse.editor.cursorAfter('kind: state')")
    page.keyboard.press("Backspace")
    page.wait_for_function("() => window.__twinverse.editor.state().valid === false", timeout=30_000)
    text = page.evaluate("() => window.__twinverse.editor.text()")
    expected = _validate(server.url, text)["problems"]
    st = _state(page)
    assert st["problems"] == expected and st["problems"][0]["line"] == 13
    assert page.locator("#editor-problems li").first.inner_text() == f"bottling.yaml:13: {KIND_ERROR}"
    assert page.locator("#editor-status").inner_text() == f"{len(expected)} problems"
    page.wait_for_function("() => window.__twinverse.editor.markedLines() > 0", timeout=10_000)

    page.keyboard.type("e")  # mended
    page.wait_for_function("() => window.__twinverse.editor.state().valid === true", timeout=30_000)
    assert page.locator("#editor-problems li").count() == 0

    # completion of a type name after `type:`
    page.evaluate("() => window.__twinverse.editor.cursorAfter('{id: filler, name: Filler, type: fil')")
    page.keyboard.press("Delete")
    page.keyboard.press("Delete")
    page.keyboard.press("Delete")  # "type: fil|"
    page.keyboard.press("Control+Space")
    options = page.locator(".cm-tooltip-autocomplete li")
    options.first.wait_for(timeout=10_000)
    assert options.all_inner_texts() == ["filler"]
    options.first.click()  # (Enter within the list's first 75 ms is ignored: CodeMirror's interactionDelay)
    page.wait_for_function("() => window.__twinverse.editor.text().includes('type: filler, relationships')",
                           timeout=10_000)  # fmt: skip

    # a new twin typed in appears in the live 3D preview beside the text
    assert "bottling/line1/spare" not in page.evaluate("() => window.__twinverse.editor.previewObjects()")
    page.evaluate("() => window.__twinverse.editor.cursorAfter('{id: capper, name: Capper, type: capper}')")
    page.keyboard.press("Enter")  # the editor keeps the list item's indentation
    page.keyboard.type("- {id: spare, name: Spare capper, type: capper}")
    page.wait_for_function("() => window.__twinverse.editor.previewObjects().includes('bottling/line1/spare')",
                           timeout=30_000)  # fmt: skip
    summary = _validate(server.url, page.evaluate("() => window.__twinverse.editor.text()"))["summary"]
    assert summary["twins"] == 20  # one more than the file
    assert page.locator("#editor-status").inner_text() == f"valid · 20 twins, {summary['signals']} signals"

    # round trip keystroke → markers, over a few edits (includes the 300 ms lint delay)
    for _ in range(5):
        page.evaluate("() => window.__twinverse.editor.cursorAfter('kind: state')")
        page.keyboard.press("Backspace")
        page.wait_for_function("() => window.__twinverse.editor.state().valid === false", timeout=30_000)
        page.keyboard.type("e")
        page.wait_for_function("() => window.__twinverse.editor.state().valid === true", timeout=30_000)
    trips = _state(page)["roundTrips"]
    summary = {"edits": len(trips), "median_ms": statistics.median(trips), "max_ms": max(trips), "samples_ms": trips}
    save_artifact("editor-roundtrip.json", json.dumps(summary).encode())
    assert console.errors == []


def test_saving_a_version_switches_every_viewer_and_a_bad_one_is_refused(
    serve: Callable[..., Server], open_page: Callable[[str], tuple[Any, Console]]
) -> None:
    server = serve("serve", "--plant", str(example_path("bottling.yaml")), "--store", "h.duckdb")
    page, console = open_page(server.url + "/")
    other, other_console = open_page(server.url + "/")  # a second browser, not editing
    page.locator("#editor-open").click()
    page.wait_for_function("() => window.__twinverse.editor.state().valid === true", timeout=30_000)
    page.evaluate("() => window.__twinverse.editor.cursorAfter('{id: capper, name: Capper, type: capper}')")
    page.keyboard.press("Enter")
    page.keyboard.type("- {id: spare, name: Spare capper, type: capper}")
    page.wait_for_function("() => window.__twinverse.editor.previewObjects().includes('bottling/line1/spare')",
                           timeout=30_000)  # fmt: skip
    page.locator("#editor-message").fill("a spare capper")
    page.locator("#editor-save").click()
    page.wait_for_function("() => window.__twinverse.editor.state().saved === 2", timeout=30_000)
    assert "+      - {id: spare, name: Spare capper, type: capper}" in _state(page)["diff"]
    # both pages now draw the new twin (the other learns of the version over /ws)
    for p in (page, other):
        p.wait_for_function("() => window.__twinverse.objects().includes('bottling/line1/spare')", timeout=30_000)
    with urllib.request.urlopen(server.url + "/api/plant", timeout=30) as r:
        assert json.loads(r.read())["twins"] == 20

    # a broken text is refused with its located errors; the running model stays
    page.evaluate("() => window.__twinverse.editor.cursorAfter('kind: state')")
    page.keyboard.press("Backspace")
    page.locator("#editor-save").click()
    page.wait_for_function("() => window.__twinverse.editor.state().saveError !== null", timeout=30_000)
    assert page.locator("#editor-problems li").first.inner_text() == f"bottling.yaml:13: {KIND_ERROR}"
    assert page.locator("#editor-saved").inner_text().startswith("Not saved:")
    with urllib.request.urlopen(server.url + "/api/plant/versions", timeout=30) as r:
        assert [v["number"] for v in json.loads(r.read())["versions"]] == [1, 2]
    # the refused save is the page's only failed request (chromium logs it as a console error)
    assert console.errors == ["console.error: Failed to load resource: the server responded with a status of 422 "
                              "(Unprocessable Entity)"] and other_console.errors == []  # fmt: skip
