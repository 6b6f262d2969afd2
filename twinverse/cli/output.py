"""The CLI's consoles: Rich for colour, tables and progress, never for reading messages as markup.

Messages carry locations (``plant.yaml:100:``), ranges (``range must be [low, high]``) and
values from files and users. Rich would read ``:100:`` as an emoji code (💯) and
``[low, high]`` or ``[bold]`` as markup and drop them, so emoji codes are off in every
console made here and outside text is printed with :func:`escape` or as plain
:class:`~rich.text.Text` (:func:`print_error`).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

__all__ = ["console", "err_console", "escape", "make_console", "print_error"]


def make_console(*, stderr: bool = False) -> Console:
    """A console for the CLI: no emoji codes, no guessing highlights, long lines kept whole."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


#: Standard output of the commands.
console = make_console()
#: Standard error: one line per problem.
err_console = make_console(stderr=True)


def print_error(message: object) -> None:
    """``error: <message>`` on stderr, the message verbatim (brackets, colons and all)."""
    err_console.print(Text.assemble(("error:", "red"), " ", str(message)))
