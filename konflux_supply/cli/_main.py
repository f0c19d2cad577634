"""The ``konflux-supply`` group, its lazy command table and ``main`` (see :mod:`.cli`)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any, Protocol

import click

from konflux_supply import __version__
from konflux_supply.errors import KonfluxSupplyError

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

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


#: Every top-level command: its name, the private module(s) whose ``register(group)`` add it
#: (space-separated, for a group that more than one module fills) and its help in the
#: command list. Modules are imported only when their command runs, so ``--help`` and each
#: command start fast. One row per command (a test checks the table against the modules).
COMMANDS: dict[str, tuple[str, str]] = {
    "attach": ("_oci", "Attach artifacts to an image."),
    "attest": ("_oci", "Attest to an image (in-toto, DSSE, in .att)."),
    "attest-blob": ("_keys", "Attest to a file: a DSSE envelope on stdout."),
    "controller": ("_controller", "Sign finished Tekton runs in a cluster."),
    "copy": ("_oci", "Copy an image with everything attached to it."),
    "demo": ("_demo", "The whole product offline: sign a run, validate, reject tampering."),
    "download": ("_download", "Download artifacts attached to an image."),
    "generate-key-pair": ("_keys", "Generate a cosign key pair (ECDSA P-256)."),
    "import-key-pair": ("_keys", "Import a PEM private key as a cosign key pair."),
    "policy": ("_policy _policy_push", "Rego policy libraries: test, lint, push."),
    "provenance": ("_provenance", "Print the in-toto statement for a Tekton run."),
    "public-key": ("_keys", "Print the public key (PKIX PEM) of a KEYREF."),
    "report": ("_report", "Work with release-gate reports."),
    "sbom": ("_sbom", "Generate, merge and validate SBOMs."),
    "sign": ("_oci", "Sign an image (simple signing, in .sig)."),
    "sign-blob": ("_keys", "Sign a file; the signature goes to stdout."),
    "sign-run": ("_chains", "Sign a finished Tekton run as Chains would."),
    "triangulate": ("_oci", "Print where cosign stores an image's attachments."),
    "validate": ("_validate", "Validate images or inputs against an EnterpriseContractPolicy."),
    "verify": ("_oci", "Verify an image's signatures."),
    "verify-attestation": ("_oci", "Verify an image's attestations of --type."),
    "verify-blob": ("_keys", "Verify a detached signature over a file."),
    "verify-blob-attestation": ("_keys", "Verify a DSSE attestation about a file."),
    "verify-bundle": ("_keys", "Verify a Sigstore bundle offline."),
}


class _CommandModule(Protocol):
    def register(self, group: click.Group) -> None: ...


def _short(text: str, limit: int) -> str:
    """``text`` cut at a word to ``limit`` characters (``...`` marks the cut), as click does."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 3, 1)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "..."


class LazyGroup(click.Group):
    """A group whose commands come from :data:`COMMANDS`, their modules imported on first use."""

    def __init__(self, *args: Any, table: dict[str, tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.table = table
        self._loaded: set[str] = set()

    def load(self, module_name: str) -> None:
        """Import one command module and let it register its commands (once)."""
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        module: _CommandModule = importlib.import_module(f"konflux_supply.cli.{module_name}")
        module.register(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands and cmd_name not in self.table:
            return self.commands[cmd_name]
        for module_name in self.table.get(cmd_name, ("", ""))[0].split():
            self.load(module_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table: ``--help`` imports no command module."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in self.table:
                rows.append((name, _short(self.table[name][1], limit)))
            else:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    table=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="konflux-supply")
def cli() -> None:
    """Supply-chain security for Tekton and Konflux: provenance, signing, OCI storage."""


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
