"""The CLI's consoles: Rich for colour and progress, never for reading markup out of data.

Messages carry file paths, ``file:line:`` locations and brackets (``[low, high]``). Rich
would read ``:100:`` as an emoji code and ``[bold]`` as markup, so the consoles have emoji
off and every piece of data goes through :func:`plain` before it joins a styled line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

__all__ = ["console", "err_console", "plain"]

#: Standard output.
console = Console(highlight=False, soft_wrap=True, emoji=False)
#: Standard error.
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def plain(value: Any) -> str:
    """``value`` as text that Rich prints verbatim inside markup."""
    return escape(str(value))
