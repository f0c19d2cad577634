"""cosign "simple signing" payloads for container images (reference/cosign.md §2.3).

::

    data = simple_signing.payload("registry.example/ns/app:1.0", "sha256:…")
    # b'{"critical":{"identity":{"docker-reference":"registry.example/ns/app"},'
    # b'"image":{"docker-manifest-digest":"sha256:…"},"type":"cosign container image signature"},'
    # b'"optional":null}'

The bytes are those of Go's ``json.Marshal`` of sigstore's ``payload.SimpleContainerImage``:
struct order, ``optional`` keys sorted, ``<``/``>``/``&`` escaped. ``docker-reference`` is
go-containerregistry's ``Repository.Name()``: registry + repository, no tag or digest, Docker
Hub names completed (``ubuntu`` → ``index.docker.io/library/ubuntu``). The signature is over
these raw bytes (no DSSE).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_go

__all__ = [
    "MEDIA_TYPE",
    "SIGNATURE_TYPE",
    "SimpleSigning",
    "docker_reference",
    "parse",
    "payload",
]

MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_TYPE = "cosign container image signature"
DEFAULT_REGISTRY = "index.docker.io"
MAX_PAYLOAD_BYTES = 128 * 1024 * 1024

_REPOSITORY_CHARS = re.compile(r"[a-z0-9_\-./]{1,255}")
_TAG = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_DIGEST = re.compile(r"(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})")
# An RFC 3986 authority as Go's url.Parse would return it whole: host or [IPv6], optional port.
_REGISTRY = re.compile(
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9\-._~%]+)?\])(?::[0-9]*)?"
)


def _check_digest(digest: str, field_name: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InputError(
            "not a digest: expected sha256:<64 hex> (or sha384/sha512), lowercase",
            field=field_name,
        )
    return digest


def docker_reference(reference: str) -> str:
    """go-containerregistry's ``Repository.Name()`` of an image reference (tag/digest dropped)."""
    if not isinstance(reference, str) or not reference:
        raise InputError("an image repository must be specified", field="repository")
    name, _, digest = reference.partition("@")
    if digest:
        _check_digest(digest, "repository")
    parts = name.split(":")
    if len(parts) > 1 and "/" not in parts[-1]:
        tag = parts[-1]
        name = ":".join(parts[:-1])
        if not _TAG.fullmatch(tag):
            raise InputError(f"invalid tag {tag!r}", field="repository")
    registry, repository = "", name
    first, slash, rest = name.partition("/")
    if slash and (first == "localhost" or "." in first or ":" in first):
        registry, repository = first, rest
    if not _REPOSITORY_CHARS.fullmatch(repository):
        raise InputError(
            f"repository can only contain the characters "
            f"`abcdefghijklmnopqrstuvwxyz0123456789_-./` (1-255): {repository!r}",
            field="repository",
        )
    if registry and not _REGISTRY.fullmatch(registry):
        raise InputError(
            f"registries must be valid RFC 3986 URI authorities: {registry!r}", field="repository"
        )
    if registry in ("", "docker.io"):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repository:
        repository = f"library/{repository}"
    return f"{registry}/{repository}"


def _check_optional(value: Any, path: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError("annotation keys must be strings", field=path)
            _check_optional(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_optional(item, f"{path}[{index}]")
        return
    # Floats are refused: Go and Python print some of them differently, and the signed bytes
    # must be identical.
    raise InputError(
        f"annotation values must be strings, integers, booleans, null, lists or objects; "
        f"got {type(value).__name__}",
        field=path,
    )


def payload(repository: str, digest: str, optional: Mapping[str, Any] | None = None) -> bytes:
    """The exact bytes cosign (and Chains) sign for ``repository@digest``.

    ``repository`` may carry a tag and/or digest (they are dropped; a digest there must equal
    ``digest``). ``optional`` holds cosign's ``-a key=value`` annotations (``null`` if None).
    """
    _check_digest(digest, "digest")
    if "@" in repository and repository.partition("@")[2] != digest:
        raise InputError(
            f"the reference's digest {repository.partition('@')[2]!r} differs from {digest!r}",
            field="repository",
        )
    if optional is not None:
        _check_optional(optional, "optional")
    doc = {
        "critical": {
            "identity": {"docker-reference": docker_reference(repository)},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": dict(optional) if optional is not None else None,
    }
    return dumps_go(doc, sort_keys=True)


@dataclass(frozen=True)
class SimpleSigning:
    """A parsed simple-signing payload (the signed bytes are kept in :attr:`raw`)."""

    docker_reference: str
    docker_manifest_digest: str
    type: str
    optional: dict[str, Any] | None
    raw: bytes = field(repr=False)


def _get(obj: Mapping[str, Any], key: str, path: str, kind: type, source: str | None) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind):
        expected = "a string" if kind is str else "an object"
        raise InputError(
            f"expected {expected}", field=f"{path}.{key}" if path else key, source=source
        )
    return value


def parse(data: bytes, *, source: str | None = None) -> SimpleSigning:
    """Parse a simple-signing payload; wrong shapes are :class:`InputError` with field paths.

    Nothing is normalised: the values are returned as signed. Claims (digest equality,
    annotations) are for the verifier to check.
    """
    if len(data) > MAX_PAYLOAD_BYTES:
        raise InputError("simple-signing payload is too large", source=source)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"simple-signing payload is not JSON: {error}", source=source) from None
    except RecursionError:
        raise InputError("simple-signing payload is nested too deeply", source=source) from None
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", field="(payload)", source=source)
    critical = _get(doc, "critical", "", dict, source)
    identity = _get(critical, "identity", "critical", dict, source)
    image = _get(critical, "image", "critical", dict, source)
    reference = _get(identity, "docker-reference", "critical.identity", str, source)
    digest = _get(image, "docker-manifest-digest", "critical.image", str, source)
    kind = _get(critical, "type", "critical", str, source)
    optional = doc.get("optional")
    if optional is not None and not isinstance(optional, dict):
        raise InputError("expected an object or null", field="optional", source=source)
    return SimpleSigning(reference, digest, kind, optional, bytes(data))
