"""``konflux-supply download sbom``: read an attached SBOM back, as ``cosign download sbom``.

stdout gets the SBOM's exact bytes (nothing added), stderr the media type. The bytes are
checked against the digest in the ``.sbom`` manifest; the attachment itself carries no
signature (as in cosign), so the warning says how to get a signed one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from konflux_supply.cli._registry import registry_options, repository_override
from konflux_supply.cli._sbom import write_output

if TYPE_CHECKING:
    from konflux_supply.oci import RegistryOptions

__all__ = ["register"]

_UNSIGNED = (
    "WARNING: Downloading SBOMs this way does not ensure their authenticity. For a "
    "tamper-proof SBOM, attest it (attest --type cyclonedx|spdxjson) and read it with "
    "verify-attestation --key."
)


@click.group("download")
def download() -> None:
    """Download artifacts attached to an image."""


@download.command("sbom")
@click.option(
    "--platform",
    default=None,
    metavar="OS/ARCH[/VARIANT]",
    help="For an index: the SBOM attached to this platform's image.",
)
@click.option(
    "--registry-referrers-mode",
    type=click.Choice(["legacy", "oci-1-1"]),
    default="legacy",
    show_default=True,
    help="oci-1-1: also read an SBOM attached as an OCI 1.1 referrer.",
)
@click.option(
    "--output", "-o", default=None, help="Write the SBOM here (atomically); default stdout."
)
@registry_options
@click.argument("image", metavar="IMAGE")
def download_sbom(
    platform: str | None,
    registry_referrers_mode: str,
    output: str | None,
    image: str,
    registry_options: RegistryOptions,
) -> None:
    """Print the SBOM attached to IMAGE (sha256-<hex>.sbom), byte for byte."""
    from konflux_supply import oci, sbom

    click.echo(_UNSIGNED, err=True)
    with oci.RegistryPool(registry_options) as pool:
        registry, ref = pool.open(image)
        attached = sbom.read_attached(
            registry,
            ref,
            repository=repository_override(),
            platform=platform,
            referrers=registry_referrers_mode == "oci-1-1",
        )
    click.echo(f"Found SBOM of media type: {attached.media_type}", err=True)
    write_output(attached.data, output)


def register(group: click.Group) -> None:
    """Add the ``download`` command group."""
    group.add_command(download)
