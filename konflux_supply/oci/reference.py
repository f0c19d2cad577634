"""Image references, parsed and normalised exactly as go-containerregistry's ``name`` package.

* ``busybox`` → ``index.docker.io/library/busybox:latest`` (``docker.io`` is rewritten to
  ``index.docker.io``; a one-element repository on Docker Hub gets ``library/``).
* The first path element is a registry when it is ``localhost`` or contains ``.`` or ``:``.
* ``repo:tag@sha256:…`` keeps only the digest (as ggcr does).
* Repository names are lowercase ``[a-z0-9_./-]`` (1 to 255 characters), tags
  ``[A-Za-z0-9_.-]`` (1 to 128), digests ``sha256:<64 lowercase hex>``.

An OCI image layout directory is addressed as ``oci:DIR@sha256:…``, ``oci:DIR:TAG`` (the tag is
the ``org.opencontainers.image.ref.name`` annotation in ``index.json``) or ``oci:DIR`` (the
only image in the layout).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

from konflux_supply.errors import InputError

__all__ = [
    "DEFAULT_REGISTRY",
    "Reference",
    "is_loopback",
    "parse_reference",
]

DEFAULT_REGISTRY = "index.docker.io"
_DOCKER_IO = "docker.io"
_DEFAULT_TAG = "latest"
# ``fullmatch`` throughout: Python's ``$`` also matches before a trailing newline.
_REPO_CHARS = re.compile(r"^[a-z0-9_./-]+$")
_TAG_CHARS = re.compile(r"^[A-Za-z0-9_.-]+$")
_SHA256 = re.compile(r"^sha256:[a-f0-9]{64}$")
# Go's url.Parse("//" + name).Host == name: an RFC 3986 authority without userinfo.
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+)?\]|[A-Za-z0-9._~!$&'()*+,;=%:-]*?)"
    r"(?::[0-9]*)?$"
)
# OCI image layout ref.name grammar (image-spec annotations.md).
_REF_NAME = re.compile(
    r"^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$"
)


def _bad(message: str, text: str) -> InputError:
    return InputError(f"{message}: {text!r}", field="image")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference.

    ``registry`` is the normalised host (``""`` for an OCI layout), ``repository`` the
    repository path (the directory for a layout). ``tag`` and ``digest`` are optional; after
    :meth:`with_digest` both may be set and the digest is what identifies the image.
    """

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    layout: bool = False

    @property
    def name(self) -> str:
        """The repository name: ``index.docker.io/library/x`` or ``oci:DIR``."""
        if self.layout:
            return f"oci:{self.repository}"
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """The digest if known, else the tag (what goes after ``/manifests/``)."""
        if self.digest:
            return self.digest
        if self.tag:
            return self.tag
        raise InputError(f"{self.name} names no tag or digest", field="image")

    def with_digest(self, digest: str) -> Reference:
        """The same reference pinned to ``digest`` (the tag is kept for display)."""
        if not _SHA256.fullmatch(digest):
            raise _bad("malformed digest", digest)
        return replace(self, digest=digest)

    def with_tag(self, tag: str) -> Reference:
        """Another tag in the same repository (no digest)."""
        return replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        if self.tag:
            return f"{self.name}:{self.tag}"
        return self.name


def is_loopback(host: str) -> bool:
    """True when a registry host (``host[:port]``) is a loopback address or ``localhost``."""
    name = host
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    name = name.lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _check_registry(host: str, text: str) -> str:
    if not _HOST.fullmatch(host) or "@" in host or "/" in host:
        raise _bad("registries must be valid RFC 3986 URI authorities", text)
    if host.count(":") and not host.startswith("["):
        port = host.rsplit(":", 1)[1]
        if port and not port.isdigit():
            raise _bad("invalid port in registry", text)
    if host == _DOCKER_IO:
        return DEFAULT_REGISTRY
    return host or DEFAULT_REGISTRY


def _repository(base: str, text: str) -> tuple[str, str]:
    if not base:
        raise _bad("a repository name must be specified", text)
    registry = ""
    repo = base
    first, sep, rest = base.partition("/")
    if sep and (first == "localhost" or "." in first or ":" in first):
        registry, repo = first, rest
    if not 1 <= len(repo) <= 255:
        raise _bad("repository must be between 1 and 255 characters in length", text)
    if not _REPO_CHARS.fullmatch(repo):
        raise _bad("repository can only contain the characters `a-z0-9_-./`", text)
    if any(part in ("", ".", "..") for part in repo.split("/")):
        raise _bad("repository path components must not be empty, '.' or '..'", text)
    registry = _check_registry(registry, text)
    if registry == DEFAULT_REGISTRY and "/" not in repo:
        repo = f"library/{repo}"
    return registry, repo


def _check_tag(tag: str, text: str) -> None:
    if not 1 <= len(tag) <= 128:
        raise _bad("tag must be between 1 and 128 characters in length", text)
    if not _TAG_CHARS.fullmatch(tag):
        raise _bad("tag can only contain the characters `A-Za-z0-9_-.`", text)


def _split_tag(name: str, text: str) -> tuple[str, str | None]:
    base, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, None
    if not tag:
        raise _bad("must specify a tag name after the colon", text)
    return base, tag


def _parse_layout(text: str) -> Reference:
    body = text[len("oci:") :]
    if "@" in body:
        directory, _, digest = body.rpartition("@")
        if not _SHA256.fullmatch(digest):
            raise _bad("unsupported or malformed digest", text)
        if not directory:
            raise _bad("an OCI layout reference needs a directory", text)
        return Reference(registry="", repository=directory, digest=digest, layout=True)
    directory, sep, tag = body.partition(":")
    if not directory:
        raise _bad("an OCI layout reference needs a directory", text)
    if not sep:
        return Reference(registry="", repository=directory, layout=True)
    if not _REF_NAME.fullmatch(tag):
        raise _bad("malformed OCI layout reference name", text)
    return Reference(registry="", repository=directory, tag=tag, layout=True)


def parse_reference(text: str, *, default_tag: str | None = _DEFAULT_TAG) -> Reference:
    """Parse ``text`` as go-containerregistry ``name.ParseReference`` does.

    Raises :class:`InputError` (field ``image``) on a malformed reference. ``default_tag``
    is used when neither tag nor digest is given (``None`` leaves both unset).
    """
    if not isinstance(text, str) or not text:
        raise _bad("empty image reference", str(text))
    if text.startswith("oci:"):
        return _parse_layout(text)
    if "@" in text:
        base, _, digest = text.partition("@")
        if "@" in digest:
            raise _bad("a digest must contain exactly one '@' separator", text)
        if not digest.startswith("sha256:"):
            raise _bad("unsupported digest algorithm", text)
        if not _SHA256.fullmatch(digest):
            raise _bad("malformed sha256 digest", text)
        name, tag = _split_tag(base, text)
        try:
            if tag is not None:
                _check_tag(tag, text)
            registry, repo = _repository(name, text)
        except InputError:
            if tag is None:
                raise
            # ggcr: if "base" is not a valid tag reference, it must be a repository.
            registry, repo = _repository(base, text)
        return Reference(registry=registry, repository=repo, digest=digest)
    name, tag = _split_tag(text, text)
    if tag is not None:
        _check_tag(tag, text)
    registry, repo = _repository(name, text)
    return Reference(registry=registry, repository=repo, tag=tag or default_tag)
