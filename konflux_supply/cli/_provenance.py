"""``konflux-supply provenance``: the statement Tekton Chains would sign for a finished run."""

from __future__ import annotations

import re

import click

from konflux_supply.errors import InputError


def __getattr__(name: str) -> object:
    """``FORMATS``: the library's own tuple, not a copy (read when first asked for)."""
    if name == "FORMATS":
        from konflux_supply.provenance import FORMATS

        return FORMATS
    raise AttributeError(name)


class _Formats(click.Choice[str]):
    """``provenance.FORMATS``, read when first needed: importing the formatters costs more
    start-up time than ``konflux-supply --help`` may spend."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from konflux_supply.provenance import FORMATS

        return FORMATS

    @choices.setter
    def choices(self, value: object) -> None:
        pass


_CHILD_FIELD = re.compile(r"children\[(\d+)\](\.?)")


@click.command("provenance")
@click.argument("run_file", metavar="RUN.json")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=_Formats(),
    help="Chains format: in-toto = slsa/v1 (SLSA v0.2), slsa/v2alpha3, slsa/v2alpha4 (SLSA v1.0).",
)
@click.option(
    "--builder-id",
    default=None,
    help="builder.id to record (Chains config builder.id; default: Chains' own, "
    "provenance.DEFAULT_BUILDER_ID).",
)
@click.option(
    "--build-type",
    default=None,
    help="SLSA v1.0 buildDefinition.buildType: https://tekton.dev/chains/v2/slsa (default) "
    "or https://tekton.dev/chains/v2/slsa-tekton.",
)
@click.option(
    "--deep-inspection",
    is_flag=True,
    help="Also take subjects and inputs from the child TaskRuns of a PipelineRun.",
)
@click.option(
    "--child",
    "child_files",
    multiple=True,
    metavar="TASKRUN.json",
    help="A child TaskRun of the PipelineRun (repeat for each; JSON or YAML).",
)
def provenance_command(
    run_file: str,
    fmt: str,
    builder_id: str | None,
    build_type: str | None,
    deep_inspection: bool,
    child_files: tuple[str, ...],
) -> None:
    """Print the in-toto statement for RUN.json (a TaskRun or PipelineRun, JSON or YAML).

    The statement goes to stdout as the exact bytes Chains would sign; dropped type hints and
    ignored child TaskRuns are reported on stderr.
    """
    from konflux_supply import provenance

    from ._common import echo_bytes, load_document, warn

    run = load_document(run_file)
    children = [load_document(path) for path in child_files]
    try:
        statement = provenance.generate(
            run,
            format=fmt,
            builder_id=provenance.DEFAULT_BUILDER_ID if builder_id is None else builder_id,
            build_type=build_type,
            deep_inspection=deep_inspection,
            children=children,
        )
    except InputError as error:
        raise _with_source(error, run_file, child_files) from None
    for message in statement.warnings:
        warn(_relabel(message, child_files))
    echo_bytes(statement.to_json())


def _relabel(text: str, child_files: tuple[str, ...]) -> str:
    """``children[1].status...`` → ``child.yaml: status...`` for people reading the CLI."""

    def name(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(child_files):
            return match.group(0)
        return f"{child_files[index]}: " if match.group(2) else child_files[index]

    return _CHILD_FIELD.sub(name, text)


def _with_source(error: InputError, run_file: str, child_files: tuple[str, ...]) -> InputError:
    """Name the file the bad field is in (the run or one of the children)."""
    field: str | None = error.field
    source: str | None = run_file
    if field is not None:
        match = _CHILD_FIELD.match(field)
        if match and int(match.group(1)) < len(child_files):
            source = child_files[int(match.group(1))]
            field = field[match.end() :] or None
    if field in ("format", "build_type", "builder_id"):
        source, field = None, "--" + field.replace("_", "-")
    return InputError(
        _relabel(error.message, child_files), field=field, source=source, hint=error.hint
    )


def register(group: click.Group) -> None:
    group.add_command(provenance_command)
