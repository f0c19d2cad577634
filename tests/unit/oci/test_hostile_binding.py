"""Binding of attachments to the right image and the right place: repository overrides,
mixed verdicts, and copies racing with signers."""

from __future__ import annotations

import pytest

from konflux_supply.errors import InputError
from konflux_supply.oci import (
    Kind,
    Reference,
    attach_sbom,
    read_attachments,
    sign_image,
)
from konflux_supply.verify import VerifyOptions, verify_signatures
from tests.unit.oci.memory import MemoryRegistry
from tests.unit.oci.test_verify import KEY, POLICY, PUB, new_image


@pytest.mark.parametrize(
    "override",
    [Reference("elsewhere.example", "team/sigs"), Reference("", "/tmp/sigs", layout=True)],
)
def test_a_repository_override_on_another_registry_is_refused_not_misplaced(
    override: Reference,
) -> None:
    """One registry client serves the image; writing the override's repository path there
    would put signatures on the wrong host while reporting the override as the location."""
    registry = MemoryRegistry()
    image = new_image(registry, "a")
    with pytest.raises(InputError, match="another registry"):
        sign_image(registry, image, KEY, policy=POLICY, repository=override)
    with pytest.raises(InputError, match="another registry"):
        attach_sbom(registry, image, b"{}", "text/spdx+json", policy=POLICY, repository=override)
    assert registry.tags == {"a": image.digest}
    with pytest.raises(InputError, match="another registry"):
        read_attachments(
            registry, image, Kind.SIGNATURE, limits=VerifyOptions().limits, repository=override
        )
    with pytest.raises(InputError, match="another registry"):
        verify_signatures(registry, image, [PUB], options=VerifyOptions(repository=override))


def test_a_repository_override_on_the_same_registry_works() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "a")
    override = Reference(image.registry, "team/sigs")
    attached = sign_image(registry, image, KEY, policy=POLICY, repository=override)
    assert attached.location.startswith("registry.example/team/sigs:sha256-")
    verify_signatures(registry, image, [PUB], options=VerifyOptions(repository=override))
