"""The ``input`` document a release policy sees for one image (Conforma's ``BuildInput``).

The shape is Conforma's, key for key and in its order (reference/conforma.md §2), so policies
written for ``ec validate image`` and captured ``policy-input`` files work unchanged:
``attestations`` (each verified statement with its signatures), ``image`` (ref pinned to the
digest, signatures, config, parent, files, source), ``snapshot``, ``component_name`` and
``policy_spec`` (the ECP spec with pinned source URLs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImageFacts", "build_input"]


@dataclass(frozen=True)
class ImageFacts:
    """What was learned about one image before policy evaluation (plain JSON values)."""

    ref: str
    signatures: Sequence[Mapping[str, Any]] = ()
    #: ``(statement, signatures)`` for every verified attestation, statement parsed.
    attestations: Sequence[tuple[Any, Sequence[Mapping[str, Any]]]] = ()
    config: Mapping[str, Any] | None = None
    parent_ref: str | None = None
    parent_config: Mapping[str, Any] | None = None
    files: Mapping[str, Any] | None = None
    source: Mapping[str, Any] | None = field(default=None)


def build_input(
    facts: ImageFacts,
    *,
    snapshot: Mapping[str, Any],
    component_name: str,
    policy_spec: Mapping[str, Any],
) -> dict[str, Any]:
    """The policy ``input`` for one image, as Conforma builds it (omitempty rules included)."""
    attestations: list[dict[str, Any]] = []
    for statement, signatures in facts.attestations:
        entry: dict[str, Any] = {"statement": statement}
        if signatures:
            entry["signatures"] = [dict(s) for s in signatures]
        attestations.append(entry)
    image: dict[str, Any] = {"ref": facts.ref}
    if facts.signatures:
        image["signatures"] = [dict(s) for s in facts.signatures]
    if facts.config is not None:
        image["config"] = facts.config
    if facts.parent_ref is not None:
        parent: dict[str, Any] = {"ref": facts.parent_ref}
        if facts.parent_config is not None:
            parent["config"] = facts.parent_config
        image["parent"] = parent
    if facts.files:
        image["files"] = dict(facts.files)
    # Conforma's ``source`` is a Go ``any`` holding the component's source struct: an empty
    # struct still marshals to ``{}``, so the key is present whenever a component exists.
    image["source"] = dict(facts.source) if facts.source is not None else {}
    document: dict[str, Any] = {
        "attestations": attestations,
        "image": image,
        "snapshot": snapshot,
    }
    if component_name:
        document["component_name"] = component_name
    document["policy_spec"] = policy_spec
    return document
