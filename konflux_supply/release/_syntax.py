"""The syntax check of SLSA provenance statements (Conforma's ``builtin.attestation.syntax_check``).

Only SLSA v0.2 and v1.0 provenance statements are checked, as Conforma does; other predicate
types pass through. The rules are the SLSA specification's own (required fields, digest sets
of lowercase hex, RFC 3339 UTC timestamps, URI builder ids), written out as code so that each
problem is reported with its field path instead of a schema dump.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from konflux_supply.models.intoto import (
    PREDICATE_SLSA_V02,
    PREDICATE_SLSA_V1,
    STATEMENT_V01,
    STATEMENT_V1,
)

__all__ = ["statement_problems"]

#: Digest algorithm names the in-toto DigestSet admits (``gitCommit`` only in SLSA v1).
_DIGEST_NAMES = frozenset(
    {
        "sha256", "sha224", "sha384", "sha512", "sha512_224", "sha512_256", "sha3_224",
        "sha3_256", "sha3_384", "sha3_512", "shake128", "shake256", "blake2b", "blake2s",
        "ripemd160", "sm3", "gost", "sha1", "md5",
    }
)  # fmt: skip
_HEX = re.compile(r"[a-f0-9]+\Z")
_UTC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?Z\Z")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*\Z")

_Check = Callable[[Any, str], Iterator[str]]


def statement_problems(statement: Any) -> list[str]:
    """Every way ``statement`` breaks the SLSA provenance rules of its predicate type.

    Empty when it holds, or when its predicate type is not SLSA provenance v0.2 or v1.
    """
    if not isinstance(statement, Mapping):
        return ["the statement is not a JSON object"]
    predicate_type = statement.get("predicateType")
    if predicate_type == PREDICATE_SLSA_V02:
        return list(_statement(statement, (STATEMENT_V01,), _predicate_v02, v1=False))
    if predicate_type == PREDICATE_SLSA_V1:
        # Chains wrote SLSA v1 predicates in v0.1 statements for a while (tektoncd/chains#920).
        return list(_statement(statement, (STATEMENT_V1, STATEMENT_V01), _predicate_v1, v1=True))
    return []


def _statement(
    statement: Mapping[str, Any], types: tuple[str, ...], predicate: _Check, *, v1: bool
) -> Iterator[str]:
    if statement.get("_type") not in types:
        yield f"_type: must be {' or '.join(repr(t) for t in types)}"
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        yield "subject: must be a non-empty array"
    else:
        for i, subject in enumerate(subjects):
            where = f"subject[{i}]"
            if not isinstance(subject, Mapping):
                yield f"{where}: must be an object"
                continue
            name = subject.get("name")
            if not isinstance(name, str) or not name:
                yield f"{where}.name: must be a non-empty string"
            if "digest" not in subject:
                yield f"{where}.digest: is required"
            else:
                yield from _digest_set(subject["digest"], f"{where}.digest", v1=v1)
    if "predicate" not in statement:
        yield "predicate: is required"
    else:
        yield from predicate(statement["predicate"], "predicate")


def _digest_set(value: Any, where: str, *, v1: bool) -> Iterator[str]:
    if not isinstance(value, Mapping):
        yield f"{where}: must be an object"
        return
    for name, digest in value.items():
        if name not in _DIGEST_NAMES and not (v1 and name == "gitCommit"):
            yield f"{where}: unknown digest algorithm {name!r}"
        if not isinstance(digest, str) or not _HEX.match(digest):
            yield f"{where}.{name}: must be lowercase hexadecimal"


def _object(value: Any, where: str) -> Iterator[str]:
    if not isinstance(value, Mapping):
        yield f"{where}: must be an object"


def _string(value: Any, where: str, *, non_empty: bool = False) -> Iterator[str]:
    if not isinstance(value, str) or (non_empty and not value):
        yield f"{where}: must be a {'non-empty ' if non_empty else ''}string"


def _timestamp(value: Any, where: str) -> Iterator[str]:
    if not isinstance(value, str) or not _UTC_TIMESTAMP.match(value):
        yield f"{where}: must be an RFC 3339 timestamp in UTC (ending in Z)"


def _uri(value: Any, where: str) -> Iterator[str]:
    if not isinstance(value, str) or not _URI.match(value):
        yield f"{where}: must be a URI"


def _optional(obj: Mapping[str, Any], key: str, check: _Check, where: str) -> Iterator[str]:
    if key in obj:
        yield from check(obj[key], f"{where}.{key}")


def _predicate_v02(predicate: Any, where: str) -> Iterator[str]:
    if not isinstance(predicate, Mapping):
        yield f"{where}: must be an object"
        return
    builder = predicate.get("builder")
    if not isinstance(builder, Mapping):
        yield f"{where}.builder: is required and must be an object"
    elif "id" not in builder:
        yield f"{where}.builder.id: is required"
    else:
        yield from _uri(builder["id"], f"{where}.builder.id")
    if "buildType" not in predicate:
        yield f"{where}.buildType: is required"
    else:
        yield from _string(predicate["buildType"], f"{where}.buildType")
    invocation = predicate.get("invocation")
    if invocation is not None or "invocation" in predicate:
        yield from _invocation_v02(invocation, f"{where}.invocation")
    metadata = predicate.get("metadata")
    if "metadata" in predicate:
        yield from _metadata_v02(metadata, f"{where}.metadata")
    yield from _optional(predicate, "buildConfig", _object, where)
    if "materials" in predicate:
        materials = predicate["materials"]
        if not isinstance(materials, list):
            yield f"{where}.materials: must be an array"
        else:
            for i, material in enumerate(materials):
                at = f"{where}.materials[{i}]"
                if not isinstance(material, Mapping):
                    yield f"{at}: must be an object"
                    continue
                yield from _optional(material, "uri", _string, at)
                if "digest" in material:
                    yield from _digest_set(material["digest"], f"{at}.digest", v1=False)


def _invocation_v02(invocation: Any, where: str) -> Iterator[str]:
    if not isinstance(invocation, Mapping):
        yield f"{where}: must be an object"
        return
    source = invocation.get("configSource")
    if "configSource" in invocation:
        if not isinstance(source, Mapping):
            yield f"{where}.configSource: must be an object"
        else:
            yield from _optional(source, "uri", _string, f"{where}.configSource")
            if "digest" in source:
                yield from _digest_set(source["digest"], f"{where}.configSource.digest", v1=False)
            if "entryPoint" in source:
                yield from _string(
                    source["entryPoint"], f"{where}.configSource.entryPoint", non_empty=True
                )
    yield from _optional(invocation, "parameters", _object, where)
    yield from _optional(invocation, "environment", _object, where)


def _metadata_v02(metadata: Any, where: str) -> Iterator[str]:
    if not isinstance(metadata, Mapping):
        yield f"{where}: must be an object"
        return
    if "buildInvocationId" in metadata:
        yield from _string(
            metadata["buildInvocationId"], f"{where}.buildInvocationId", non_empty=True
        )
    yield from _optional(metadata, "buildStartedOn", _timestamp, where)
    yield from _optional(metadata, "buildFinishedOn", _timestamp, where)
    if "completeness" in metadata:
        completeness = metadata["completeness"]
        if not isinstance(completeness, Mapping):
            yield f"{where}.completeness: must be an object"
        else:
            for key in ("parameters", "environment", "materials"):
                if key in completeness and not isinstance(completeness[key], bool):
                    yield f"{where}.completeness.{key}: must be a boolean"
    if "reproducible" in metadata and not isinstance(metadata["reproducible"], bool):
        yield f"{where}.reproducible: must be a boolean"


def _resource_descriptors(value: Any, where: str) -> Iterator[str]:
    if not isinstance(value, list):
        yield f"{where}: must be an array"
        return
    for i, descriptor in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(descriptor, Mapping):
            yield f"{at}: must be an object"
            continue
        for key in ("uri", "name", "downloadLocation", "mediaType", "content"):
            yield from _optional(descriptor, key, _string, at)
        if "digest" in descriptor:
            yield from _digest_set(descriptor["digest"], f"{at}.digest", v1=True)
        yield from _optional(descriptor, "annotations", _object, at)


def _predicate_v1(predicate: Any, where: str) -> Iterator[str]:
    if not isinstance(predicate, Mapping):
        yield f"{where}: must be an object"
        return
    definition = predicate.get("buildDefinition")
    if not isinstance(definition, Mapping):
        yield f"{where}.buildDefinition: is required and must be an object"
    else:
        at = f"{where}.buildDefinition"
        if "buildType" not in definition:
            yield f"{at}.buildType: is required"
        else:
            yield from _string(definition["buildType"], f"{at}.buildType", non_empty=True)
        if "externalParameters" not in definition:
            yield f"{at}.externalParameters: is required"
        else:
            yield from _object(definition["externalParameters"], f"{at}.externalParameters")
        yield from _optional(definition, "internalParameters", _object, at)
        yield from _optional(definition, "resolvedDependencies", _resource_descriptors, at)
    details = predicate.get("runDetails")
    if not isinstance(details, Mapping):
        yield f"{where}.runDetails: is required and must be an object"
        return
    at = f"{where}.runDetails"
    builder = details.get("builder")
    if not isinstance(builder, Mapping):
        yield f"{at}.builder: is required and must be an object"
    else:
        if "id" not in builder:
            yield f"{at}.builder.id: is required"
        else:
            yield from _uri(builder["id"], f"{at}.builder.id")
        yield from _optional(builder, "builderDependencies", _resource_descriptors, f"{at}.builder")
        yield from _optional(builder, "version", _object, f"{at}.builder")
    if "metadata" in details:
        metadata = details["metadata"]
        if not isinstance(metadata, Mapping):
            yield f"{at}.metadata: must be an object"
        else:
            if "invocationId" in metadata:
                yield from _string(
                    metadata["invocationId"], f"{at}.metadata.invocationId", non_empty=True
                )
            yield from _optional(metadata, "startedOn", _timestamp, f"{at}.metadata")
            yield from _optional(metadata, "finishedOn", _timestamp, f"{at}.metadata")
    yield from _optional(details, "byproducts", _resource_descriptors, at)
