"""Helpers shared by the CLI commands: reading input files, writing output files, printing."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_compact
from konflux_supply.models.document import parse_document as parse_document

# A cap on documents read from the command line: runs, policies and predicates are small;
# anything larger is almost certainly the wrong file.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024


#: Long work says what it is doing on stderr: at once for an input this large, and every
#: PROGRESS_EVERY seconds while one step lasts (a 75 MB SBOM takes more than a minute).
PROGRESS_SIZE = 16 * 1024 * 1024
PROGRESS_EVERY = 10.0


@contextlib.contextmanager
def progress(what: str, *, size: int = 0) -> Iterator[None]:
    """Say on stderr that ``what`` (``"validating big.json"``) is under way: at once when
    ``size`` (bytes) is large, then every :data:`PROGRESS_EVERY` seconds until it ends."""
    started = time.monotonic()
    if size >= PROGRESS_SIZE:
        click.echo(f"konflux-supply: {what} ({size / (1024 * 1024):.0f} MB)…", err=True)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(PROGRESS_EVERY):
            elapsed = time.monotonic() - started
            click.echo(f"konflux-supply: still {what} ({elapsed:.0f} s)…", err=True)

    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def read_bytes(path: str, *, cap: int = MAX_DOCUMENT_BYTES, hint: str | None = None) -> bytes:
    """Read a file (``-`` = stdin) or raise :class:`InputError` naming it.

    At most one byte more than ``cap`` is read, so a huge file costs nothing.
    """
    try:
        if path == "-":
            data = sys.stdin.buffer.read(cap + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(cap + 1)
    except OSError as error:
        raise InputError(f"cannot read file: {error.strerror}", source=path) from None
    if len(data) > cap:
        raise InputError(f"document is larger than the cap of {cap} bytes", source=path, hint=hint)
    return data


def load_document(path: str) -> Any:
    """Parse a JSON or YAML document (one document only) from a file; a key given twice in
    one object is refused (two readers must never disagree on which value wins)."""
    data = read_bytes(path)
    return parse_document(data, source=path, unique_keys=True)


def echo_json(obj: Any) -> None:
    """Print compact JSON on stdout, followed by a newline."""
    click.echo(dumps_compact(obj).decode("utf-8"))


def echo_bytes(data: bytes) -> None:
    """Write exact bytes on stdout, followed by a newline."""
    out = sys.stdout.buffer
    out.write(data)
    out.write(b"\n")
    out.flush()


def warn(message: str) -> None:
    """A message for people, on stderr."""
    click.echo(f"konflux-supply: warning: {message}", err=True)


def write_atomically(path: str, data: bytes, mode: int | None = None) -> None:
    """Write a whole file or nothing: temporary file in the same directory, then rename.

    ``mode`` ``None`` gives the usual ``0o666`` less the umask (as ``open`` would).
    """
    write_all_atomically([(path, data, mode)])


def write_all_atomically(files: Sequence[tuple[str, bytes, int | None]]) -> None:
    """Write every file completely, or (on any error, ^C included) none that did not exist.

    Each goes to a temporary file in its own directory first; the renames come last, so a bad
    path (a missing directory, a directory in the way) fails before any output appears.
    """
    temps: list[tuple[str, str]] = []
    placed: list[str] = []
    current = ""
    try:
        for path, data, mode in files:
            current = path
            target = Path(path)
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
            temps.append((path, temp))
            os.fchmod(fd, _default_mode() if mode is None else mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        for path, temp in temps:
            current = path
            existed = os.path.lexists(path)
            os.replace(temp, path)
            if not existed:
                placed.append(path)
    except BaseException as error:  # also ^C: never leave temporary or partial outputs behind
        for _, temp in temps:
            Path(temp).unlink(missing_ok=True)
        for path in placed:
            Path(path).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise InputError(
                f"cannot write file: {error.strerror or error}", source=current
            ) from None
        raise


def _default_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def registrar(*commands: click.Command) -> Callable[[click.Group], None]:
    """A module's ``register(group)``: add ``commands`` to the CLI group."""

    def register(group: click.Group) -> None:
        for command in commands:
            group.add_command(command)

    return register
