"""The command line's entry point: light to import, so that Ctrl-C while the library loads (about a second) is one
line and exit status 130, like Ctrl-C at any later moment (see :func:`typicality.cli.main`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def interrupted(error: BaseException) -> bool:
    """True for Ctrl-C, also when an extension module's initialization turned it into an ImportError."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from typicality.cli import main as cli_main
    except (KeyboardInterrupt, ImportError) as e:
        if not interrupted(e):
            raise
        print("typicality: interrupted", file=sys.stderr)
        return 130
    return cli_main(argv)
