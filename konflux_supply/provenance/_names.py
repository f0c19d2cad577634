"""Image references and digests, parsed the way Tekton Chains parses them.

Chains turns ``IMAGE_URL@IMAGE_DIGEST`` and ``IMAGES`` entries into subjects with
go-containerregistry's ``name.NewDigest`` (weak validation, default registry ``index.docker.io``,
version pinned by Chains) and validates ``*ARTIFACT_DIGEST`` values with its own ``ParseDigest``
(go-digest algorithms plus ``sha1``). The rules below follow those functions; every rejection
carries a reason a person can act on.
"""

from __future__ import annotations

import re

__all__ = ["GO_SPACE", "BadName", "parse_digest", "parse_image_digest"]

# Go's unicode.IsSpace set, for strings.TrimSpace (Python's str.strip() trims more).
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

DEFAULT_REGISTRY = "index.docker.io"
_DEFAULT_REGISTRY_ALIAS = "docker.io"
_REPOSITORY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-./")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters Go's net/url accepts unescaped in a host (shouldEscape(c, encodeHost) is false).
_HOST_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:[]<>\""
)
_SHA256_HEX = re.compile(r"[a-f0-9]{64}")
_DIGEST_HEX = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha384": re.compile(r"[a-f0-9]{96}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
    "sha1": re.compile(r"[a-f0-9]{40}"),
}


class BadName(ValueError):
    """A reference or digest that Chains would reject; ``str()`` says why."""


def _check_port(port: str) -> bool:
    # Go's validOptionalPort: "" or ":" followed by ASCII digits only.
    digits = port[1:]
    return port == "" or (
        port[0] == ":" and (not digits or (digits.isascii() and digits.isdigit()))
    )


def _valid_authority(registry: str) -> bool:
    # Non-ASCII characters pass; any other character outside _HOST_CHARS (controls, '%', '?',
    # '#', '/', '@', space, ...) changes or breaks the host.
    if not _HOST_CHARS.issuperset(registry) and any(
        char < "\x80" and char not in _HOST_CHARS for char in registry
    ):
        return False
    if registry.startswith("["):
        close = registry.rfind("]")
        return close >= 0 and _check_port(registry[close + 1 :])
    return ":" not in registry or _check_port(registry[registry.rfind(":") :])


def _check_registry(registry: str) -> None:
    """Go: ``url.Parse("//" + name)`` must succeed with ``Host == name``."""
    if registry and not _valid_authority(registry):
        raise BadName(f"registry {registry!r} is not a valid RFC 3986 authority")


def _repository(name: str) -> str:
    """``name.NewRepository(name).Name()`` (weak validation)."""
    if not name:
        raise BadName("a repository name must be specified")
    registry = ""
    repo = name
    first, sep, rest = name.partition("/")
    if sep and (first == "localhost" or "." in first or ":" in first):
        registry, repo = first, rest
    # Chains pins go-containerregistry v0.21.9, where a repository has 2..255 characters.
    if not 2 <= len(repo) <= 255:
        raise BadName(f"repository must be between 2 and 255 characters in length: {repo!r}")
    if not _REPOSITORY_CHARS.issuperset(repo):
        raise BadName(
            f"repository can only contain the characters "
            f"`abcdefghijklmnopqrstuvwxyz0123456789_-./`: {repo!r}"
        )
    _check_registry(registry)
    if not registry or registry == _DEFAULT_REGISTRY_ALIAS:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repo:
        repo = "library/" + repo
    return f"{registry}/{repo}"


def _repository_of(base: str) -> str:
    """``NewDigest``'s base handling: try ``name.NewTag(base)`` (dropping the tag), else parse
    ``base`` itself as a repository."""
    parts = base.split(":")
    candidate = base
    if len(parts) > 1 and "/" not in parts[-1]:
        tag = parts[-1]
        if not tag or len(tag) > 128 or not _TAG_CHARS.issuperset(tag):
            return _repository(base)  # NewTag fails; NewDigest parses the untouched base
        candidate = ":".join(parts[:-1])
    try:
        return _repository(candidate)
    except BadName:
        return _repository(base)


def parse_image_digest(ref: str) -> tuple[str, str]:
    """``name.NewDigest(ref)``: ``(repository name, "sha256:<hex>")`` or :class:`BadName`.

    The repository is normalised (``abc`` → ``index.docker.io/library/abc``); a tag before the
    digest is dropped, as ``Repository.Name()`` does.
    """
    parts = ref.split("@")
    if len(parts) != 2:
        raise BadName(f"a digest must contain exactly one '@' separator: {ref!r}")
    base, digest = parts
    if not digest.startswith("sha256:"):
        raise BadName(f"unsupported digest algorithm (only sha256 is accepted): {digest!r}")
    hex_part = digest[7:]
    if len(hex_part) != 64 or not _SHA256_HEX.fullmatch(hex_part):
        raise BadName(f"digest is not sha256 followed by 64 lowercase hex characters: {digest!r}")
    return _repository_of(base), digest


def parse_digest(value: str) -> tuple[str, str]:
    """Chains' ``artifacts.ParseDigest``: ``(algorithm lower-cased, hex)`` or :class:`BadName`.

    Both parts are whitespace-trimmed. sha256/sha384/sha512 must have the exact hex length,
    sha1 40 hex characters; any other algorithm is rejected.
    """
    parts = value.split(":")
    if len(parts) != 2:
        raise BadName(f"digest {value!r} is not in the format <algorithm>:<hex>")
    algorithm = parts[0].strip(GO_SPACE).lower()
    hex_part = parts[1].strip(GO_SPACE)
    pattern = _DIGEST_HEX.get(algorithm)
    if pattern is None:
        raise BadName(
            f"unsupported digest algorithm in {value!r} (use sha256, sha384, sha512, sha1)"
        )
    if not pattern.fullmatch(hex_part):
        raise BadName(f"digest {value!r} has an invalid {algorithm} hex part")
    return algorithm, hex_part
