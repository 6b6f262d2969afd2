"""The CLI's consoles (twinverse/cli/output.py): no emoji codes, outside text verbatim."""

from __future__ import annotations

import pytest

from twinverse.cli.output import escape, make_console, print_error


@pytest.mark.parametrize(
    "message",
    ["plant.yaml:100: bad", "x:1234:y", "range must be [low, high]", "[bold]x[/bold]", ":smile: [/] [red]"],
)
def test_print_error_is_verbatim(capsys: pytest.CaptureFixture[str], message: str) -> None:
    print_error(message)
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"error: {message}\n")


def test_consoles_have_no_emoji_codes(capsys: pytest.CaptureFixture[str]) -> None:
    console = make_console()
    console.print(f"[green]ok[/green] {escape('a:100:b [x]')} :thumbs_up:")
    assert capsys.readouterr().out == "ok a:100:b [x] :thumbs_up:\n"
