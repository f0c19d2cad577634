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

Commands live in private modules (``_provenance``, ...) that import the library lazily so that
``konflux-supply --help`` starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

import click

from konflux_supply import __version__
from konflux_supply.errors import KonfluxSupplyError

__all__ = ["cli", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="konflux-supply")
def cli() -> None:
    """Supply-chain security for Tekton and Konflux: provenance, signing, OCI storage."""


class _CommandModule(Protocol):
    def register(self, group: click.Group) -> None: ...


def _register() -> None:
    # Each command module exposes register(group); add new modules to this tuple.
    from konflux_supply.cli import (
        _chains,
        _demo,
        _download,
        _keys,
        _oci,
        _policy,
        _policy_push,
        _provenance,
        _report,
        _sbom,
        _validate,
    )

    modules: tuple[_CommandModule, ...] = (
        _demo,
        _provenance,
        _keys,
        _oci,
        _sbom,
        _download,
        _report,
        _policy,
        _policy_push,
        _validate,
        _chains,
    )
    for module in modules:
        module.register(cli)


_register()


def report_error(error: KonfluxSupplyError) -> None:
    """Print one line naming the cause (plus an optional hint) on stderr."""
    click.echo(f"konflux-supply: {error.kind}: {error.summary()}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this in-process)."""
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="konflux-supply",
            standalone_mode=False,
        )
    except KonfluxSupplyError as error:
        report_error(error)
        return error.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort as abort:
        if isinstance(abort.__cause__, KeyboardInterrupt):
            # Interrupted: no verdict, and not "bad input" either; the shell's 128 + SIGINT.
            click.echo("konflux-supply: interrupted", err=True)
            return EXIT_INTERRUPTED
        click.echo("konflux-supply: aborted", err=True)
        return EXIT_FAILED
    except KeyboardInterrupt:
        click.echo("konflux-supply: interrupted", err=True)
        return EXIT_INTERRUPTED
    except SystemExit:
        # The only way click exits by itself with standalone_mode=False: stdout is a closed
        # pipe (piped into `head`). The reader did not get everything, so never success, and
        # not click's 1 either, which would read as "verification failed".
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if os.environ.get("KONFLUX_SUPPLY_DEBUG"):
            raise
        click.echo(
            f"konflux-supply: internal error (a bug, please report it): "
            f"{type(error).__name__}: {error}; set KONFLUX_SUPPLY_DEBUG=1 for the traceback",
            err=True,
        )
        return EXIT_UNAVAILABLE
    return result if isinstance(result, int) else EXIT_OK
