"""What Conforma checks of one image before policy: access, signatures, attestations, syntax.

Each check gives a *result* in Conforma's shape with its ``builtin.*`` code, as ``ec validate
image`` reports it, so existing tooling reads our reports. What Conforma gets wrong we do not
copy: a registry that could not answer is an :class:`ImageCheckError` (the component is an
*error*, exit 3) and never a signature "violation" (conforma/cli#1730), nor a pass.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from konflux_supply import oci, verify
from konflux_supply.errors import InputError, KonfluxSupplyError, RegistryError, VerificationError
from konflux_supply.models.oci import RawManifest
from konflux_supply.policy.builtin_checks import builtin_failure_message, builtin_result
from konflux_supply.policy.report import (
    BUILTIN_ATTESTATION_SIGNATURE_CHECK,
    BUILTIN_ATTESTATION_SYNTAX_CHECK,
    BUILTIN_IMAGE_ACCESSIBLE,
    BUILTIN_IMAGE_SIGNATURE_CHECK,
)
from konflux_supply.release._input import ImageFacts
from konflux_supply.release._syntax import statement_problems

__all__ = ["ImageCheck", "ImageCheckError", "check_image"]

_BASE_NAME = "org.opencontainers.image.base.name"
_BASE_DIGEST = "org.opencontainers.image.base.digest"


class ImageCheckError(KonfluxSupplyError):
    """No verdict could be reached for an image (a registry did not answer)."""


@dataclass
class ImageCheck:
    """The outcome of the pre-policy checks of one image."""

    ref: str
    violations: list[dict[str, Any]] = field(default_factory=list)
    successes: list[dict[str, Any]] = field(default_factory=list)
    facts: ImageFacts | None = None
    #: False when Conforma stops before policy (image inaccessible, attestations rejected).
    evaluate: bool = True
    #: Report fields: ``signatures`` and ``attestations`` of the component.
    signatures: list[dict[str, Any]] = field(default_factory=list)
    attestations: list[dict[str, Any]] = field(default_factory=list)
    #: ``buildFinishedOn`` of the newest provenance (for ``--effective-time attestation``).
    build_finished: str | None = None


def _failure(code: str, error: object, options: ImageCheckOptions, *, no_match: bool = False) -> dict[str, Any]:
    message = builtin_failure_message(code, str(error), no_match=no_match and not options.keyless)
    return builtin_result(code, message, detailed=options.detailed)


def _pass(code: str, options: ImageCheckOptions) -> dict[str, Any]:
    return builtin_result(code, detailed=options.detailed)


@dataclass(frozen=True)
class ImageCheckOptions:
    """How the pre-policy checks run for every image of one validation."""

    trust: verify.Policy
    verify_options: verify.VerifyOptions = field(default_factory=verify.VerifyOptions)
    skip_image_signature: bool = False
    skip_attestation_signature: bool = False
    keyless: bool = False
    #: ``--info``: keep titles and descriptions in the results.
    detailed: bool = False


def check_image(
    pool: oci.RegistryPool,
    image: str,
    options: ImageCheckOptions,
    *,
    source: Mapping[str, Any] | None = None,
) -> ImageCheck:
    """Run Conforma's pre-policy checks of ``image`` (a tag is resolved to its digest once)."""
    try:
        registry, ref = pool.open(image)
    except InputError as error:
        check = ImageCheck(ref=image, evaluate=False)
        check.violations.append(_failure(BUILTIN_IMAGE_ACCESSIBLE, error, options))
        return check
    try:
        pinned, manifest = oci.resolve(registry, ref)
    except InputError as error:  # the image does not exist: a definite answer
        check = ImageCheck(ref=image, evaluate=False)
        check.violations.append(_failure(BUILTIN_IMAGE_ACCESSIBLE, error, options))
        return check
    except RegistryError as error:
        raise ImageCheckError(f"{image}: the registry could not answer: {error}") from error
    pinned_text = str(pinned.without_tag()) if hasattr(pinned, "without_tag") else str(pinned)
    check = ImageCheck(ref=pinned_text)
    config, parent_ref, parent_config = _configs(registry, pinned, manifest)

    if not options.skip_image_signature:
        try:
            signed = verify.verify_signatures(
                registry, pinned, options.trust, options=options.verify_options
            )
        except RegistryError as error:
            raise ImageCheckError(
                f"{pinned_text}: image signatures could not be read: {error}"
            ) from error
        except (VerificationError, InputError) as error:
            check.violations.append(
                _failure(BUILTIN_IMAGE_SIGNATURE_CHECK, error, options, no_match=True)
            )
        else:
            check.successes.append(_pass(BUILTIN_IMAGE_SIGNATURE_CHECK, options))
            check.signatures = [_signature_entry(s.layer) for s in signed.signatures]

    try:
        attested = verify.verify_attestations(
            registry, pinned, options.trust, options=options.verify_options
        )
    except RegistryError as error:
        raise ImageCheckError(
            f"{pinned_text}: attestations could not be read: {error}"
        ) from error
    except (VerificationError, InputError) as error:
        if not options.skip_attestation_signature:
            check.violations.append(
                _failure(BUILTIN_ATTESTATION_SIGNATURE_CHECK, error, options, no_match=True)
            )
            check.evaluate = False
            return check
        attested = None
    else:
        check.successes.append(_pass(BUILTIN_ATTESTATION_SIGNATURE_CHECK, options))

    statements: list[tuple[Any, list[dict[str, str]]]] = []
    for attestation in attested.attestations if attested is not None else ():
        if attestation.predicate_type == verify.COSIGN_SIGN_PREDICATE:
            continue
        statement = attestation.statement_json()
        signatures = _envelope_signatures(attestation.envelope)
        statements.append((statement, signatures))
        predicate = statement.get("predicate") if isinstance(statement, dict) else None
        check.attestations.append(
            {
                "type": statement.get("_type", ""),
                "predicateType": attestation.predicate_type,
                "predicateBuildType": _build_type(predicate),
                "signatures": signatures,
            }
        )
        finished = _build_finished(predicate)
        if finished and (check.build_finished is None or finished > check.build_finished):
            check.build_finished = finished

    problems = [p for statement, _ in statements for p in statement_problems(statement)]
    if not statements:
        check.violations.append(
            _failure(BUILTIN_ATTESTATION_SYNTAX_CHECK, "no attestation data", options)
        )
    elif problems:
        check.violations.append(
            _failure(
                BUILTIN_ATTESTATION_SYNTAX_CHECK,
                "attestation syntax validation failed: " + "; ".join(problems),
                options,
            )
        )
    else:
        check.successes.append(_pass(BUILTIN_ATTESTATION_SYNTAX_CHECK, options))
    if not statements:
        check.violations.append(
            {"msg": "No attestations contain a subject that match the given image."}
        )
        check.evaluate = False
    check.facts = ImageFacts(
        ref=pinned_text,
        signatures=check.signatures,
        attestations=statements,
        config=config,
        parent_ref=parent_ref,
        parent_config=parent_config,
        source=source,
    )
    return check


def _signature_entry(layer: Any) -> dict[str, str]:
    annotations = getattr(layer, "annotations", None) or {}
    return {"keyid": "", "sig": annotations.get("dev.cosignproject.cosign/signature", "")}


def _envelope_signatures(envelope: bytes) -> list[dict[str, str]]:
    try:
        document = json.loads(envelope)
    except ValueError:
        return []
    found = []
    for entry in document.get("signatures") or ():
        if isinstance(entry, dict):
            found.append({"keyid": str(entry.get("keyid", "")), "sig": str(entry.get("sig", ""))})
    return found


def _build_type(predicate: Any) -> str:
    if not isinstance(predicate, dict):
        return ""
    if isinstance(predicate.get("buildType"), str):
        return str(predicate["buildType"])
    definition = predicate.get("buildDefinition")
    if isinstance(definition, dict) and isinstance(definition.get("buildType"), str):
        return str(definition["buildType"])
    return ""


def _build_finished(predicate: Any) -> str | None:
    if not isinstance(predicate, dict):
        return None
    metadata = predicate.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("buildFinishedOn"), str):
        return str(metadata["buildFinishedOn"])
    return None


def _configs(
    registry: oci.Registry, ref: oci.Reference, manifest: RawManifest
) -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
    """The image's config section, and its parent's (best effort, as Conforma)."""
    if manifest.is_index:
        return None, None, None
    config = _config_section(registry, ref.repository, manifest)
    annotations = manifest.manifest().annotations or {}
    base_name, base_digest = annotations.get(_BASE_NAME), annotations.get(_BASE_DIGEST)
    if not base_name or not base_digest:
        return config, None, None
    parent_text = f"{base_name}@{base_digest}"
    try:
        parent_registry, parent_ref = oci.open_registry(parent_text, options=None)
    except KonfluxSupplyError:
        return config, parent_text, None
    try:
        parent_manifest = parent_registry.get_manifest(parent_ref.repository, base_digest)
        parent_config = (
            _config_section(parent_registry, parent_ref.repository, parent_manifest)
            if parent_manifest is not None and not parent_manifest.is_index
            else None
        )
    except KonfluxSupplyError:
        parent_config = None
    finally:
        parent_registry.close()
    return config, parent_text, parent_config


def _config_section(
    registry: oci.Registry, repository: str, manifest: RawManifest
) -> dict[str, Any] | None:
    descriptor = manifest.manifest().config
    try:
        blob = registry.get_blob(repository, descriptor, limit=registry.limits.max_manifest_bytes)
        document = json.loads(blob)
    except (KonfluxSupplyError, ValueError):
        return None
    section = document.get("config") if isinstance(document, dict) else None
    return section if isinstance(section, dict) else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
