"""``--output FMT[=PATH][?show-successes=true&show-warnings=false]``: parse, render, write.

As Conforma: repeatable; none given means ``text`` on stdout; an empty format means ``json``;
an empty path means stdout; the query sets per-output options over the command's defaults
(``show-successes``, ``show-warnings``, ``show-policy-docs-link``; Go's boolean spellings).
Stricter than Conforma: an unknown format or option is an :class:`InputError` before anything
is written, and files are written all or none (temporary file, then rename), so a failed run
never leaves a half report behind. Every output ends with a newline.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

from konflux_supply.errors import InputError
from konflux_supply.policy.input_report import InputReport
from konflux_supply.policy.report import Report

__all__ = [
    "FORMATS",
    "INPUT_FORMATS",
    "OutputTarget",
    "RenderOptions",
    "parse_output",
    "parse_outputs",
    "render",
    "write_outputs",
]

#: Every format ``--output`` knows (``hacbs`` is Conforma's old name for ``appstudio``).
FORMATS = (
    "json",
    "yaml",
    "text",
    "appstudio",
    "hacbs",
    "summary",
    "summary-markdown",
    "junit",
    "attestation",
    "policy-input",
)

#: The formats of a ``validate input`` report.
INPUT_FORMATS = ("json", "yaml", "text", "summary")

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_OPTIONS = {
    "show-successes": "show_successes",
    "show-warnings": "show_warnings",
    "show-policy-docs-link": "show_policy_docs_link",
}


@dataclass(frozen=True)
class RenderOptions:
    """What the ``text`` rendering shows (the other formats ignore these)."""

    show_successes: bool = False
    show_warnings: bool = True
    show_policy_docs_link: bool = False
    color: bool = False


@dataclass(frozen=True)
class OutputTarget:
    """One ``--output``: a format, a path (``None`` = stdout) and its options."""

    format: str
    path: str | None = None
    options: RenderOptions = RenderOptions()


def parse_output(
    spec: str,
    *,
    defaults: RenderOptions | None = None,
    formats: Sequence[str] = FORMATS,
) -> OutputTarget:
    """Parse one ``--output`` value; :class:`InputError` for an unknown format or option.

    ``formats`` are the formats the command has (:data:`INPUT_FORMATS` for ``validate input``).
    """
    defaults = defaults or RenderOptions()
    target, _, query = spec.partition("?")
    fmt, _, path = target.partition("=")
    fmt = fmt or "json"
    if fmt not in formats:
        raise InputError(
            f"unknown output format {fmt!r}; known formats: {', '.join(formats)}",
            field="--output",
        )
    changes: dict[str, bool] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise InputError(f"malformed options {query!r}", field="--output") from None
    for name, value in pairs:
        if name not in _OPTIONS:
            raise InputError(
                f"unknown output option {name!r}; known: {', '.join(_OPTIONS)}",
                field="--output",
            )
        if value == "":
            continue  # as Go's url.Values.Get: an empty value leaves the default
        if value not in _TRUE | _FALSE:
            raise InputError(f"{name} must be true or false, got {value!r}", field="--output")
        changes[_OPTIONS[name]] = value in _TRUE
    return OutputTarget(fmt, path or None, replace(defaults, **changes))


def parse_outputs(
    specs: Sequence[str],
    *,
    defaults: RenderOptions | None = None,
    formats: Sequence[str] = FORMATS,
) -> list[OutputTarget]:
    """Every ``--output`` value; none means ``text`` on stdout."""
    if not specs:
        return [OutputTarget("text", None, defaults or RenderOptions())]
    return [parse_output(spec, defaults=defaults, formats=formats) for spec in specs]


def render(
    report: Report | InputReport,
    fmt: str,
    options: RenderOptions | None = None,
    *,
    policy_inputs: Sequence[bytes | Mapping[str, Any]] = (),
) -> bytes:
    """The report in one format, ending with a newline.

    A ``validate input`` report (:class:`InputReport`) has only :data:`INPUT_FORMATS`.
    """
    from konflux_supply.policy import _render_json, _render_junit, _render_summary, _render_text

    options = options or RenderOptions()
    text = {
        "show_successes": options.show_successes,
        "show_warnings": options.show_warnings,
        "show_policy_docs_link": options.show_policy_docs_link,
        "color": options.color,
    }
    if isinstance(report, InputReport):
        if fmt not in INPUT_FORMATS:
            raise InputError(
                f"output format {fmt!r} is not available for validate input; known formats: "
                f"{', '.join(INPUT_FORMATS)}",
                field="--output",
            )
        if fmt == "text":
            data = _render_text.render_input_text(report, **text)
        elif fmt == "summary":
            data = _render_summary.render_input_summary(report)
        else:
            data = (_render_json.render_json if fmt == "json" else _render_json.render_yaml)(report)
        return data if data.endswith(b"\n") else data + b"\n"
    simple: dict[str, Callable[[Report], bytes]] = {
        "json": _render_json.render_json,
        "yaml": _render_json.render_yaml,
        "appstudio": _render_summary.render_appstudio,
        "hacbs": _render_summary.render_appstudio,
        "summary": _render_summary.render_summary,
        "summary-markdown": _render_summary.render_markdown,
        "junit": _render_junit.render_junit,
        "attestation": _render_json.render_attestations,
    }
    if fmt == "text":
        data = _render_text.render_text(report, **text)
    elif fmt == "policy-input":
        data = _render_json.render_policy_input(policy_inputs)
    elif fmt in simple:
        data = simple[fmt](report)
    else:
        raise InputError(
            f"unknown output format {fmt!r}; known formats: {', '.join(FORMATS)}",
            field="--output",
        )
    return data if data.endswith(b"\n") else data + b"\n"


def write_outputs(
    report: Report | InputReport,
    targets: Sequence[OutputTarget],
    *,
    stdout: BinaryIO,
    policy_inputs: Sequence[bytes | Mapping[str, Any]] = (),
) -> None:
    """Render every target, then write the files (all or none), then stdout, in order.

    Nothing is written when a rendering fails; a file that cannot be written raises
    :class:`InputError` naming it and leaves no file (new or temporary) behind.
    """
    rendered = [
        (target, render(report, target.format, target.options, policy_inputs=policy_inputs))
        for target in targets
    ]
    files: dict[str, bytes] = {}
    for target, data in rendered:
        if target.path is not None:
            files[target.path] = files.get(target.path, b"") + data
    _write_all_atomically(files)
    for target, data in rendered:
        if target.path is None:
            stdout.write(data)
    stdout.flush()


def _write_all_atomically(files: Mapping[str, bytes]) -> None:
    temps: list[tuple[str, str]] = []
    placed: list[str] = []
    current = ""
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        for path, data in files.items():
            current = path
            target = Path(path)
            if target.is_dir():
                raise IsADirectoryError(21, "Is a directory")
            fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            temps.append((path, temp))
            os.fchmod(fd, 0o666 & ~umask)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        for path, temp in temps:
            current = path
            existed = os.path.lexists(path)
            os.replace(temp, path)
            if not existed:
                placed.append(path)
    except BaseException as error:  # ^C included: no temporary or partial output left
        for _, temp in temps:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        for path in placed:
            with contextlib.suppress(OSError):
                os.unlink(path)
        if isinstance(error, OSError):
            raise InputError(
                f"cannot write file: {error.strerror or error}", source=current
            ) from None
        raise
