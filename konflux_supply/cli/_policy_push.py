"""``konflux-supply policy push DIR... REF``: write an OCI policy bundle, print its pinned URL.

The bundle has ``conftest push``'s layout (one layer per Rego or data file, titled
``<directory name>/<path>``), so ``conftest pull``, Conforma and our own sources read it. stdout
gets one line, ``oci::REF@sha256:…``, ready for an ECP's ``sources[].policy``.

The command is registered as ``policy push``, in the ``policy`` group of :mod:`._policy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from konflux_supply.cli._registry import registry_options

if TYPE_CHECKING:
    from konflux_supply.oci import RegistryOptions

__all__ = ["push", "register"]


@click.command("push")
@registry_options
@click.argument("paths", nargs=-1, required=True, metavar="DIR...")
@click.argument("ref", metavar="REF")
def push(paths: tuple[str, ...], ref: str, registry_options: RegistryOptions) -> None:
    """Push the Rego and data files under DIR... as a policy bundle to REF (a tag).

    Prints the pinned reference, e.g. ``oci::registry.example/policy:v1@sha256:…``.
    """
    from konflux_supply.policy.sources import push_bundle

    click.echo(push_bundle(list(paths), ref, registry_options=registry_options))


def register(group: click.Group) -> None:
    """Add ``policy push`` (to the ``policy`` group of :mod:`._policy`)."""
    from konflux_supply.cli._policy import policy_group

    policy_group(group).add_command(push, name="push")
