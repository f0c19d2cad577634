"""A minimal, read-only OCI image-layout reader (``oci:DIR@sha256:…`` / ``oci:DIR:tag``).

Just enough of the OCI image-layout spec for ``sbom generate``: the ``oci-layout`` marker,
``index.json`` and content-addressed ``blobs/<alg>/<hex>``. Every blob read is size-capped and
checked against its digest. It will be replaced by :mod:`konflux_supply.oci`'s layout backend.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from konflux_supply.errors import InputError

from ._image import verify_digest

__all__ = ["OciLayout", "parse_layout_reference"]

_DIGEST = re.compile(r"^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$")
_REF_NAME = "org.opencontainers.image.ref.name"
MAX_BLOB_BYTES = 16 * 1024 * 1024


def parse_layout_reference(text: str) -> tuple[Path, str | None, str | None]:
    """Split ``oci:DIR[:tag][@digest]`` into (directory, tag, digest)."""
    if not text.startswith("oci:"):
        raise InputError(f"{text!r} is not an OCI layout reference (oci:DIR…)", field="image")
    rest = text[len("oci:") :]
    digest = None
    if "@" in rest:
        rest, _, digest = rest.rpartition("@")
        if not _DIGEST.match(digest):
            raise InputError(f"{digest!r} is not a sha256/sha512 digest", field="image")
    tag = None
    colon, slash = rest.rfind(":"), rest.rfind("/")
    if colon > slash and not Path(rest).is_dir():
        rest, tag = rest[:colon], rest[colon + 1 :]
    if not rest:
        raise InputError("an OCI layout reference needs a directory", field="image")
    return Path(rest), tag or None, digest


class OciLayout:
    """An OCI image layout directory, read-only."""

    def __init__(self, directory: Path, *, max_blob_bytes: int = MAX_BLOB_BYTES) -> None:
        self.directory = directory
        self.max_blob_bytes = max_blob_bytes
        marker = directory / "oci-layout"
        try:
            layout = json.loads(marker.read_bytes()[:4096])
        except (OSError, ValueError):
            raise InputError(
                "not an OCI image layout (no readable oci-layout file)", source=str(directory)
            ) from None
        if not isinstance(layout, dict) or not isinstance(layout.get("imageLayoutVersion"), str):
            raise InputError("oci-layout has no imageLayoutVersion", source=str(marker))

    def _read(self, path: Path, what: str) -> bytes:
        try:
            with path.open("rb") as handle:
                data = handle.read(self.max_blob_bytes + 1)
        except FileNotFoundError:
            raise InputError(f"{what} is not in the layout", source=str(self.directory)) from None
        except OSError as error:
            raise InputError(f"cannot read {what}: {error.strerror}", source=str(path)) from None
        if len(data) > self.max_blob_bytes:
            raise InputError(f"{what} is larger than {self.max_blob_bytes} bytes", source=str(path))
        return data

    def index(self) -> dict[str, Any]:
        """``index.json`` as parsed JSON."""
        data = self._read(self.directory / "index.json", "index.json")
        try:
            index = json.loads(data)
        except (ValueError, RecursionError):
            raise InputError("index.json is not JSON", source=str(self.directory)) from None
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            raise InputError("index.json has no manifests array", source=str(self.directory))
        return index

    def resolve(self, tag: str | None) -> str:
        """The digest ``index.json`` names for ``tag`` (or its only manifest, when no tag)."""
        entries = [e for e in self.index()["manifests"] if isinstance(e, dict)]
        if tag is not None:
            entries = [e for e in entries if (e.get("annotations") or {}).get(_REF_NAME) == tag]
        digests = sorted({str(e["digest"]) for e in entries if isinstance(e.get("digest"), str)})
        if len(digests) != 1:
            what = f"tag {tag!r}" if tag is not None else "an image (no tag given)"
            found = "no manifest" if not digests else f"{len(digests)} manifests"
            raise InputError(f"{found} for {what} in the layout", source=str(self.directory))
        digest = digests[0]
        if not _DIGEST.match(digest):
            raise InputError(
                f"index.json names a bad digest {digest!r}", source=str(self.directory)
            )
        return digest

    def fetch(self, digest: str) -> bytes:
        """The blob (or manifest) with this digest, checked against it."""
        match = _DIGEST.match(digest)
        if match is None:
            raise InputError(f"{digest!r} is not a sha256/sha512 digest", field="digest")
        algorithm, _, hex_ = digest.partition(":")
        data = self._read(self.directory / "blobs" / algorithm / hex_, f"blob {digest}")
        verify_digest(data, digest, what=f"blob {digest} in {self.directory}")
        return data
