"""Reading policy and data trees from disk: walk order and a size cap per file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from konflux_supply.errors import InputError

__all__ = ["MAX_FILE_BYTES", "read_capped", "walk"]

#: Largest Rego or data file read (a policy library is kilobytes; this is a safety cap).
MAX_FILE_BYTES = 64 * 1024 * 1024


def walk(root: Path) -> Iterable[Path]:
    """Files under ``root`` in Go ``filepath.Walk`` order (entries sorted by name, a directory
    walked where its name sorts), hidden directories (``.git``, ``.github``) skipped."""
    if not root.is_dir():
        yield root
        return
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError as error:
        raise InputError(f"cannot list directory: {error.strerror}", source=str(root)) from None
    for entry in entries:
        # As filepath.Walk: symlinked directories are not followed (no cycles).
        if entry.is_dir(follow_symlinks=False):
            if not entry.name.startswith("."):
                yield from walk(Path(entry.path))
        elif entry.is_file():
            yield Path(entry.path)


def read_capped(file: Path, label: str) -> bytes:
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(f"cannot read file: {error.strerror}", source=label) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file is larger than {MAX_FILE_BYTES} bytes", source=label)
    return data
