"""The ``konflux-supply`` command line.

Each command parses its arguments, makes one library call and prints: machine output on
stdout, messages for people on stderr. Exit codes (a contract scripts rely on):

* 0 — success
* 1 — verification or policy failure (a definite "no")
* 2 — bad input or usage (the message names the field path)
* 3 — no verdict could be reached: registry/backend unavailable, or an internal error
* 130 — interrupted (Ctrl-C); files being written are removed, never left half-written
* 141 — stdout was closed before everything was written (``… | head``), as the shell reports a
  tool killed by SIGPIPE (what cosign, a Go program, gives); never success, and not a verdict

Commands live in private modules (``_provenance``, ...), listed in :data:`COMMANDS` and
imported only when their command runs; they import the library lazily too, so that
``konflux-supply --help`` and every command start fast.
"""

from __future__ import annotations

from konflux_supply.cli._main import (
    COMMANDS,
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    cli,
    main,
)

__all__ = [
    "COMMANDS",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILED",
    "EXIT_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "cli",
    "main",
]
