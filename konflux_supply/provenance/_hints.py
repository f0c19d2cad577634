"""Type-hinted results → subjects and inputs (Chains ``pkg/artifacts``, ``formats/slsa/extract``).

Every hint Chains silently skips is skipped here too, with a warning that names the result and
says why it produced no subject. Pairs of ``<p>IMAGE_URL``/``<p>IMAGE_DIGEST`` (and
``ARTIFACT_URI``/``ARTIFACT_DIGEST``) are collected in a Go map in Chains, so their relative order
is random there; here it is the order in which each prefix first appears.
"""

from __future__ import annotations

from typing import Any

from ._format import Notes
from ._names import GO_SPACE, BadName, parse_digest, parse_image_digest
from ._run import Result

__all__ = [
    "append_artifact",
    "build_artifacts",
    "is_image_result",
    "oci_images",
    "structured",
    "subjects_from_build_artifacts",
    "subjects_v02",
]

IMAGE_URL, IMAGE_DIGEST, IMAGES = "IMAGE_URL", "IMAGE_DIGEST", "IMAGES"
ARTIFACT_URI, ARTIFACT_DIGEST = "ARTIFACT_URI", "ARTIFACT_DIGEST"
ARTIFACT_OUTPUTS, ARTIFACT_INPUTS = "ARTIFACT_OUTPUTS", "ARTIFACT_INPUTS"


def _where(result: Result) -> str:
    path = result[3]
    return f"{path[:-6] if path.endswith('.value') else path} ({result[0]})"


def _pairs(
    results: list[Result], uri_suffix: str, digest_suffix: str, notes: Notes
) -> list[tuple[str, str, Result, Result]]:
    """``structuredSignableExtractor.extract``: complete ``(uri, digest)`` pairs by prefix."""
    partials: dict[str, list[Any]] = {}
    for result in results:
        name, value = result[0], result[1]
        for suffix, slot in ((uri_suffix, 0), (digest_suffix, 1)):
            if not name.endswith(suffix):
                continue
            text = value.strip(GO_SPACE) if type(value) is str else ""
            if not text:
                why = "is empty" if type(value) is str else "is not a string"
                notes.warn(f"{_where(result)}: the value {why}; type hint ignored, no subject")
                continue
            entry = partials.setdefault(name[: -len(suffix)], [None, None, None, None])
            entry[slot] = text
            entry[slot + 2] = result
    out = []
    for marker, (uri, digest, uri_result, digest_result) in partials.items():
        if uri is None:
            notes.warn(
                f"{_where(digest_result)}: no matching {marker}{uri_suffix} result; no subject"
            )
        elif digest is None:
            notes.warn(
                f"{_where(uri_result)}: no matching {marker}{digest_suffix} result; no subject"
            )
        else:
            out.append((uri, digest, uri_result, digest_result))
    return out


def _object(result: Result, notes: Notes) -> dict[str, str] | None:
    """``isValidArtifactOutput``: the object value of a structured result when it is valid."""
    value = result[1]
    outcome = "no material" if result[0].endswith(ARTIFACT_INPUTS) else "no subject"
    if type(value) is not dict:
        notes.warn(
            f"{_where(result)}: must be an object of strings with uri and digest; "
            f"type hint ignored, {outcome}"
        )
        return None
    why = None
    if not value.get("uri"):
        why = "has no uri"
    elif not value.get("digest"):
        why = "has no digest"
    else:
        try:
            parse_digest(value["digest"])
        except BadName as error:
            why = str(error)
    if why is not None:
        notes.warn(f"{_where(result)}: {why}; type hint ignored, {outcome}")
        return None
    return value


def structured(results: list[Result], suffix: str, notes: Notes) -> list[dict[str, str]]:
    """``ExtractStructuredTargetFromResults``: valid ``*ARTIFACT_OUTPUTS``/``*ARTIFACT_INPUTS``."""
    out = []
    for result in results:
        if result[0].endswith(suffix):
            value = _object(result, notes)
            if value is not None:
                out.append(value)
    return out


def build_artifacts(results: list[Result], notes: Notes) -> list[dict[str, str]]:
    """``ExtractBuildArtifactsFromResults``: valid ``*ARTIFACT_OUTPUTS`` with isBuildArtifact."""
    out = []
    for result in results:
        if not result[0].endswith(ARTIFACT_OUTPUTS) or type(result[1]) is not dict:
            continue
        if result[1].get("isBuildArtifact") != "true":
            continue
        value = _object(result, notes)
        if value is not None:
            out.append(value)
    return out


def is_image_result(name: str) -> bool:
    """``isOCIImage``: results that v2alpha4 keeps out of byproducts."""
    return name.endswith((IMAGE_URL, IMAGE_DIGEST)) or name == IMAGES


def is_build_artifact_or_invalid(result: Result) -> bool:
    """``IsBuildArtifact`` returning true or an error (v2alpha4 drops those from byproducts)."""
    if not result[0].endswith(ARTIFACT_OUTPUTS):
        return False
    value = result[1]
    if type(value) is not dict:
        return True
    return value.get("isBuildArtifact") == "true"


def _add_image(out: list[tuple[str, str]], seen: set[str], ref: str) -> None:
    """Parse ``ref`` as ``name.NewDigest`` does and add it unless seen (:class:`BadName`)."""
    repo, digest = parse_image_digest(ref)
    key = f"{repo}@{digest}"
    if key not in seen:
        seen.add(key)
        out.append((repo, digest))


def oci_images(results: list[Result], notes: Notes) -> list[tuple[str, str]]:
    """``ExtractOCIImagesFromResults``: ``(repository, "sha256:<hex>")``, deduplicated."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    dropped = "no subject and no image signature"
    for uri, digest, uri_result, digest_result in _pairs(results, IMAGE_URL, IMAGE_DIGEST, notes):
        try:
            _add_image(out, seen, f"{uri}@{digest}")
        except BadName as error:
            notes.warn(f"{_where(uri_result)} + {_where(digest_result)}: {error}; {dropped}")
    for result in results:
        if result[0] != IMAGES:
            continue
        if type(result[1]) is not str:
            notes.warn(f"{_where(result)}: must be a string of references; no subjects")
            continue
        value = result[1]
        for entry in value.replace("\n", ",").split(","):
            trimmed = entry.strip(GO_SPACE)
            if trimmed:
                try:
                    _add_image(out, seen, trimmed)
                except BadName as error:
                    notes.warn(f"{_where(result)} entry {trimmed!r}: {error}; {dropped}")
    for artifact in build_artifacts(results, Notes()):  # its warnings are not ours
        try:
            _add_image(out, seen, f"{artifact['uri']}@{artifact['digest']}")
        except BadName:
            continue  # not an OCI image: it stays a plain artifact subject
    return out


def append_artifact(
    items: list[dict[str, Any]], key: str, value: str, digest: dict[str, str]
) -> None:
    """``AppendSubjects``/``AppendMaterials``: merge into an entry with the same name/uri that
    shares one ``alg:hex``, else append."""
    for existing in items:
        if existing[key] != value:
            continue
        current = existing["digest"]
        if any(current.get(alg) == hex_part for alg, hex_part in digest.items()):
            merged = dict(current)
            merged.update(digest)
            existing["digest"] = {alg: merged[alg] for alg in sorted(merged)}
            return
    items.append({key: value, "digest": digest})


def _raw_digest(value: str, result: Result, notes: Notes) -> dict[str, str]:
    # Chains splits the digest as written (no trimming, no lower-casing) for the subject.
    alg, _, hex_part = value.partition(":")
    if alg != alg.strip(GO_SPACE).lower() or hex_part != hex_part.strip(GO_SPACE):
        notes.warn(
            f"{_where(result)}: digest {value!r} is not canonical; the subject keeps it as "
            "written, as Chains does"
        )
    return {alg: hex_part}


def _add_images(subjects: list[dict[str, Any]], images: list[tuple[str, str]]) -> None:
    for repo, digest in images:
        append_artifact(subjects, "name", repo, {"sha256": digest[7:]})


def subjects_v02(results: list[Result], notes: Notes) -> list[dict[str, Any]]:
    """``subjectsFromTektonObject`` (SLSA v0.2 and v2alpha3)."""
    subjects: list[dict[str, Any]] = []
    _add_images(subjects, oci_images(results, notes))
    for uri, digest, _uri_result, digest_result in _pairs(
        results, ARTIFACT_URI, ARTIFACT_DIGEST, notes
    ):
        try:
            parse_digest(digest)
        except BadName as error:
            notes.warn(f"{_where(digest_result)}: {error}; no subject")
            continue
        append_artifact(subjects, "name", uri, _raw_digest(digest, digest_result, notes))
    for result in results:
        if result[0].endswith(ARTIFACT_OUTPUTS):
            output = _object(result, notes)
            if output is not None:
                written = _raw_digest(output["digest"], result, notes)
                append_artifact(subjects, "name", output["uri"], written)
    return subjects


def subjects_from_build_artifacts(results: list[Result], notes: Notes) -> list[dict[str, Any]]:
    """``SubjectsFromBuildArtifact`` (v2alpha4): build artifacts first, then images."""
    subjects: list[dict[str, Any]] = []
    for result in results:
        name = result[0]
        if name.endswith(ARTIFACT_OUTPUTS):
            value = result[1]
            if type(value) is not dict:
                _object(result, notes)  # says why it is no subject
                continue
            flag = value.get("isBuildArtifact")
            if flag != "true":
                if flag != "false":  # "false" is a deliberate byproduct; anything else a slip
                    marked = (
                        f"isBuildArtifact is {flag!r}, not"
                        if "isBuildArtifact" in value
                        else "not marked isBuildArtifact:"
                    )
                    notes.warn(
                        f'{_where(result)}: {marked} "true"; slsa/v2alpha4 '
                        "records it as a byproduct, not a subject"
                    )
                continue
            value = _object(result, notes)
            if value is not None:
                digest = _raw_digest(value["digest"], result, notes)
                append_artifact(subjects, "name", value["uri"], digest)
        elif name.endswith((ARTIFACT_URI, ARTIFACT_DIGEST)):
            notes.warn(
                f"{_where(result)}: slsa/v2alpha4 ignores ARTIFACT_URI/ARTIFACT_DIGEST hints "
                "(use *ARTIFACT_OUTPUTS with isBuildArtifact); no subject"
            )
    _add_images(subjects, oci_images(results, notes))
    return subjects
