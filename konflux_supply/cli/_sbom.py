"""``konflux-supply sbom generate|merge|validate``."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from konflux_supply.errors import InputError

from ._common import echo_json, progress, read_bytes, write_atomically
from ._registry import registry_options

if TYPE_CHECKING:
    from konflux_supply.oci import RegistryOptions
    from konflux_supply.sbom import ParseLimits

_SPEC_VERSIONS = click.Choice(["1.4", "1.5", "1.6"])
_SHOWN_ISSUES = 20


def _limits(max_bytes: int | None) -> ParseLimits:
    from konflux_supply.sbom import ParseLimits

    return ParseLimits() if max_bytes is None else ParseLimits(max_bytes=max_bytes)


def _read(path: str, limits: ParseLimits, *, hint: str | None = None) -> bytes:
    """Read at most one byte more than the cap, so a huge file costs nothing."""
    hint = hint or "raise the cap with --max-bytes if the document is genuine"
    return read_bytes(path, cap=limits.max_bytes, hint=hint)


#: ``attach sbom --type`` values and the formats each covers (cosign's names).
_ATTACH_TYPES = {"cyclonedx": ("cyclonedx",), "spdx": ("spdxjson", "spdx"), "syft": ()}
_INPUT_FORMATS = {"json": ("cyclonedx", "spdxjson"), "text": ("spdx",), "xml": ()}


def attachable_sbom(path: str, kind: str | None, input_format: str | None) -> Any:
    """Read and parse the SBOM for ``attach sbom`` before anything is pushed.

    The media type comes from the document; ``--type``/``--input-format``, when given, must
    agree with it. Formats that cannot be checked (syft JSON, CycloneDX XML) are refused.
    """
    from konflux_supply import sbom

    if kind == "syft" or input_format == "xml":
        raise InputError(
            "only CycloneDX JSON and SPDX (JSON or tag-value) SBOMs can be checked, so only "
            "they are attached",
            field="--type" if kind == "syft" else "--input-format",
            source=path,
            hint="convert it (e.g. syft convert … -o cyclonedx-json), or attest it instead",
        )
    limits = sbom.ParseLimits()
    hint = "cosign and konflux-supply read attachments of at most 128 MiB"
    document = sbom.parse(_read(path, limits, hint=hint), source=path, limits=limits)
    found = document.format.value
    for option, value, table in (
        ("--type", kind, _ATTACH_TYPES),
        ("--input-format", input_format, _INPUT_FORMATS),
    ):
        if value is not None and found not in table[value]:
            raise InputError(
                f"{option} {value} does not match the document ({document.media_type})",
                field=option,
                source=path,
                hint=f"leave {option} out: the media type is taken from the document",
            )
    return document


def check_sbom_predicate(data: bytes, path: str, predicate_type: str) -> None:
    """For ``attest --type cyclonedx|spdxjson|spdx``: the predicate must be that SBOM."""
    from konflux_supply import sbom

    sbom.read_predicate(data, predicate_type, source=path)


def _timestamp(value: str | None) -> datetime | None:
    """``--timestamp``, else ``SOURCE_DATE_EPOCH`` (reproducible builds), else None (= now)."""
    if value is None:
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if not epoch:
            return None
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError):
            raise InputError("SOURCE_DATE_EPOCH must be seconds since 1970") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--timestamp {value!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise InputError("--timestamp needs a time zone, e.g. 2024-01-31T12:00:00Z")
    return parsed


def write_output(data: bytes, output: str | None) -> None:
    """Write to stdout, or atomically to a file (no partial file is ever left behind)."""
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    write_atomically(output, data)


def _warn(message: str) -> None:
    click.echo(f"konflux-supply: warning: {message}", err=True)


_max_bytes = click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse documents larger than this (default 128 MiB).",
)
_output = click.option(
    "--output", "-o", default=None, help="Write the SBOM here (atomically); default stdout."
)
_serial = click.option(
    "--serial-number", default=None, help="serialNumber (urn:uuid:…); default random."
)
_time = click.option(
    "--timestamp",
    default=None,
    help="metadata.timestamp (RFC 3339); default $SOURCE_DATE_EPOCH, else now.",
)
_repository = click.option(
    "--repository",
    default=None,
    metavar="REGISTRY/REPO",
    help="For oci:DIR images: the repository named in the purl (default: the directory name).",
)


def _subject(text: str | None, repository: str | None, options: RegistryOptions) -> Any:
    """The described component for ``--subject``: no I/O when it names a digest, else its
    tag is resolved once through the registry (or layout)."""
    if text is None:
        return None
    from konflux_supply import oci, sbom

    if not text.startswith("oci:") and "@" in text:
        return sbom.image_component(text)
    ref = oci.parse_reference(text)
    if ref.digest is None:
        with oci.RegistryPool(options) as pool:
            registry, ref = pool.open(ref)
            ref = oci.resolve(registry, ref)[0]
    return sbom.image_component(ref, repository=repository)


@click.group("sbom")
def sbom_group() -> None:
    """Generate, merge and validate SBOMs (CycloneDX; SPDX read-only)."""


@sbom_group.command("validate")
@click.argument("sbom_file", metavar="SBOM")
@click.option(
    "--schema/--no-schema",
    default=True,
    help="Check the official schema (slow for big SBOMs) or only integrity.",
)
@_max_bytes
def validate_command(sbom_file: str, schema: bool, max_bytes: int | None) -> int:
    """Check an SBOM: exit 0 valid, 1 invalid (problems listed with paths), 2 unreadable.

    Integrity (unique bom-refs/SPDXIDs, no dangling reference) is always checked; --schema
    adds the CycloneDX JSON schema of the document's version, or SPDX 2.3's required fields.
    """
    from konflux_supply import sbom

    limits = _limits(max_bytes)
    data = _read(sbom_file, limits)
    with progress(f"validating {sbom_file}", size=len(data)):
        result = sbom.validate(data, schema=schema, source=sbom_file, limits=limits)
    document = result.document
    echo_json(
        {
            "valid": result.ok,
            "format": document.format.value,
            "specVersion": document.spec_version,
            "schema": result.schema_checked,
            "issues": [{"path": i.path, "message": i.message} for i in result.issues],
        }
    )
    if result.ok:
        return 0
    for issue in result.issues[:_SHOWN_ISSUES]:
        click.echo(f"konflux-supply: {sbom_file}: {issue}", err=True)
    more = len(result.issues) - _SHOWN_ISSUES
    if more > 0:
        click.echo(f"konflux-supply: … and {more} more (all are in the JSON on stdout)", err=True)
    click.echo(f"konflux-supply: invalid SBOM: {len(result.issues)} problem(s)", err=True)
    return 1


@sbom_group.command("merge")
@click.argument("sbom_files", metavar="SBOM...", nargs=-1, required=True)
@_output
@click.option(
    "--subject",
    default=None,
    metavar="IMAGE",
    help="The image the result describes: registry/repo@sha256:… or oci:DIR@sha256:… "
    "(a tag is resolved through the registry).",
)
@_repository
@_serial
@_time
@click.option("--spec-version", type=_SPEC_VERSIONS, default=None, help="Default: newest input.")
@_max_bytes
@registry_options
def merge_command(
    sbom_files: tuple[str, ...],
    output: str | None,
    subject: str | None,
    repository: str | None,
    serial_number: str | None,
    timestamp: str | None,
    spec_version: str | None,
    max_bytes: int | None,
    registry_options: RegistryOptions,
) -> None:
    """Merge CycloneDX SBOMs into one (components deduplicated by purl, graphs merged)."""
    from konflux_supply import sbom

    limits = _limits(max_bytes)
    when = _timestamp(timestamp)
    boms = []
    total = 0
    for path in sbom_files:
        data = _read(path, limits)
        total += len(data)
        with progress(f"reading {path}", size=len(data)):
            boms.append(sbom.parse_cyclonedx(data, source=path, limits=limits))
    root = _subject(subject, repository, registry_options)
    with progress(f"merging {len(boms)} SBOMs", size=total):
        merged = sbom.merge(
            boms,
            subject=root,
            serial_number=serial_number,
            timestamp=when,
            spec_version=spec_version,
            on_conflict=_warn,
            sources=sbom_files,
        )
        result = merged.to_json()
    write_output(result, output)


def _components(path: str, limits: ParseLimits) -> list[Any]:
    """Components from a JSON array of component objects, or from a CycloneDX SBOM."""
    from konflux_supply import sbom

    return sbom.parse_components(_read(path, limits), source=path, limits=limits)


@sbom_group.command("generate")
@click.argument("image", metavar="IMAGE")
@click.option(
    "--manifest",
    "manifest_file",
    default=None,
    help="The image's manifest or index (JSON file) instead of reading the registry; "
    "checked against IMAGE's digest.",
)
@_repository
@click.option(
    "--components",
    "components_file",
    default=None,
    help="Components to add: a JSON array of CycloneDX components, or a CycloneDX SBOM.",
)
@_output
@_serial
@_time
@click.option("--spec-version", type=_SPEC_VERSIONS, default="1.6", show_default=True)
@_max_bytes
@registry_options
def generate_command(
    image: str,
    manifest_file: str | None,
    repository: str | None,
    components_file: str | None,
    output: str | None,
    serial_number: str | None,
    timestamp: str | None,
    spec_version: str,
    max_bytes: int | None,
    registry_options: RegistryOptions,
) -> None:
    """An SBOM describing IMAGE (purl pkg:oci/…), one component per platform of an index.

    IMAGE is registry/repo[:tag|@sha256:…] or an OCI layout oci:DIR[:tag|@sha256:…]; a tag
    is resolved once, then the manifest or index, each platform manifest and the image config
    are read by digest and checked. With --manifest FILE nothing is read from the registry.
    """
    from konflux_supply import oci, sbom

    limits = _limits(max_bytes)
    extra = _components(components_file, limits) if components_file is not None else []
    options: dict[str, Any] = {
        "repository": repository,
        "components": extra,
        "serial_number": serial_number,
        "timestamp": _timestamp(timestamp),
        "spec_version": spec_version,
    }
    if manifest_file is not None:
        data = _read(manifest_file, limits)
        try:
            document = sbom.generate(image, manifest=data, **options)
        except InputError as error:
            if error.source is None and (error.field or "").startswith("manifest"):
                error.source = manifest_file  # the file the manifest (and its errors) came from
            raise
    else:
        with oci.RegistryPool(registry_options) as pool:
            registry, ref = pool.open(image)
            document = sbom.generate(ref, registry=registry, **options)
    write_output(document.to_json(), output)


def register(group: click.Group) -> None:
    """Add the ``sbom`` command group."""
    group.add_command(sbom_group)
