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
from konflux_supply.policy.builtins import BuiltinContext, make_builtins
from konflux_supply.policy.report import (
    BUILTIN_ATTESTATION_SIGNATURE_CHECK,
    BUILTIN_ATTESTATION_SYNTAX_CHECK,
    BUILTIN_IMAGE_ACCESSIBLE,
    BUILTIN_IMAGE_SIGNATURE_CHECK,
)
from konflux_supply.release._input import ImageFacts
from konflux_supply.release._syntax import statement_problems

__all__ = ["ImageCheck", "ImageCheckError", "check_image"]

_OLM_LABEL = "operators.operatorframework.io.bundle.manifests.v1"
_BASE_NAME = "org.opencontainers.image.base.name"
_BASE_DIGEST = "org.opencontainers.image.base.digest"


class ImageCheckError(KonfluxSupplyError):
    """No verdict could be reached for an image (a registry did not answer).

    ``code`` is the ``builtin.*`` check that could not be done.
    """

    exit_code = 3
    kind = "registry error"

    def __init__(self, message: str, *, code: str = BUILTIN_IMAGE_ACCESSIBLE) -> None:
        super().__init__(message)
        self.code = code


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


def _failure(
    code: str, error: object, options: ImageCheckOptions, *, no_match: bool = False
) -> dict[str, Any]:
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
    #: How to reach registries when reading an OLM bundle's manifests (``image.files``).
    registry: oci.RegistryOptions = field(default_factory=oci.RegistryOptions)


def _registry_failure(
    image: str, what: str, error: KonfluxSupplyError, code: str = BUILTIN_IMAGE_ACCESSIBLE
) -> ImageCheckError:
    return ImageCheckError(f"{image}: {what}: {error.summary()}", code=code)


def _inaccessible(error: RegistryError) -> bool:
    """A definite "you may not / there is nothing": HTTP 401, 403 or 404."""
    return error.status in (401, 403, 404)


def check_image(
    pool: oci.RegistryPool,
    image: str,
    options: ImageCheckOptions,
    *,
    source: Mapping[str, Any] | None = None,
) -> ImageCheck:
    """Run Conforma's pre-policy checks of ``image`` (a tag is resolved to its digest once).

    Raises :class:`ImageCheckError` when a registry could not answer (no verdict).
    """
    try:
        registry, ref = pool.open(image)
        pinned, manifest = oci.resolve(registry, ref)
    except InputError as error:  # a malformed reference, or the image does not exist
        check = ImageCheck(ref=image, evaluate=False)
        check.violations.append(_failure(BUILTIN_IMAGE_ACCESSIBLE, error.summary(), options))
        return check
    except RegistryError as error:
        if _inaccessible(error):
            check = ImageCheck(ref=image, evaluate=False)
            check.violations.append(_failure(BUILTIN_IMAGE_ACCESSIBLE, error.summary(), options))
            return check
        raise _registry_failure(image, "the registry could not answer", error) from error
    pinned_text = str(pinned)
    check = ImageCheck(ref=pinned_text)
    config, parent_ref, parent_config = _configs(pool, registry, pinned, manifest)

    if not options.skip_image_signature:
        try:
            signed = verify.verify_signatures(
                registry, pinned, options.trust, options=options.verify_options
            )
        except RegistryError as error:
            raise _registry_failure(
                pinned_text,
                "image signatures could not be read",
                error,
                BUILTIN_IMAGE_SIGNATURE_CHECK,
            ) from error
        except (VerificationError, InputError) as error:
            check.violations.append(
                _failure(BUILTIN_IMAGE_SIGNATURE_CHECK, error.summary(), options, no_match=True)
            )
        else:
            check.successes.append(_pass(BUILTIN_IMAGE_SIGNATURE_CHECK, options))
            check.signatures = [_signature_entry(s.layer) for s in signed.signatures]

    statements: list[tuple[Any, list[dict[str, str]]]] = []
    if options.skip_attestation_signature:
        try:
            unverified = _unverified_statements(registry, pinned, options)
        except RegistryError as error:
            raise _registry_failure(
                pinned_text,
                "attestations could not be read",
                error,
                BUILTIN_ATTESTATION_SIGNATURE_CHECK,
            ) from error
        for statement, envelope in unverified:
            statements.append((statement, _envelope_signatures(envelope)))
    else:
        try:
            attested = verify.verify_attestations(
                registry, pinned, options.trust, options=options.verify_options
            )
        except RegistryError as error:
            raise _registry_failure(
                pinned_text,
                "attestations could not be read",
                error,
                BUILTIN_ATTESTATION_SIGNATURE_CHECK,
            ) from error
        except (VerificationError, InputError) as error:
            check.violations.append(
                _failure(
                    BUILTIN_ATTESTATION_SIGNATURE_CHECK, error.summary(), options, no_match=True
                )
            )
            check.evaluate = False
            check.signatures = []  # Conforma reports signatures only past this check
            return check
        check.successes.append(_pass(BUILTIN_ATTESTATION_SIGNATURE_CHECK, options))
        for attestation in attested.attestations:
            if attestation.predicate_type == verify.COSIGN_SIGN_PREDICATE:
                continue
            statements.append(
                (attestation.statement_json(), _envelope_signatures(attestation.envelope))
            )

    for statement, signatures in statements:
        predicate = statement.get("predicate") if isinstance(statement, dict) else None
        check.attestations.append(
            {
                "type": statement.get("_type", "") if isinstance(statement, dict) else "",
                "predicateType": statement.get("predicateType", "")
                if isinstance(statement, dict)
                else "",
                "predicateBuildType": _build_type(predicate),
                "signatures": signatures,
                "statement": json.dumps(statement, separators=(",", ":")).encode(),
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
        files=_bundle_files(pinned_text, config, options),
        source=source,
    )
    return check


def _bundle_files(
    ref: str, config: Mapping[str, Any] | None, options: ImageCheckOptions
) -> dict[str, Any] | None:
    """An OLM bundle's manifests (the directory its label names), as Conforma's ``image.files``.

    Read with ``ec.oci.image_files`` (layers streamed, size-capped). A registry that could not
    answer is an :class:`ImageCheckError`: policies must not judge a bundle on files we did
    not read.
    """
    labels = (config or {}).get("Labels")
    directory = labels.get(_OLM_LABEL) if isinstance(labels, Mapping) else None
    if not isinstance(directory, str) or not directory:
        return None
    with BuiltinContext(registry=options.registry) as context:
        files = make_builtins(context)["ec.oci.image_files"][1](ref, [directory])
    if context.unavailable:
        raise ImageCheckError(
            f"{ref}: the bundle manifests could not be read: {context.unavailable[0]}"
        )
    return files if isinstance(files, dict) else None


def _unverified_statements(
    registry: oci.Registry, pinned: oci.Reference, options: ImageCheckOptions
) -> list[tuple[Any, bytes]]:
    """``--skip-att-sig-check``: the statements of the attestation layers, not verified, whose
    subject is the image (Conforma's ``FetchAttestationsWithoutVerification``)."""
    attachments = oci.read_attachments(
        registry, pinned, oci.Kind.ATTESTATION, repository=options.verify_options.repository
    )
    hexpart = (pinned.digest or "").partition(":")[2]
    found: list[tuple[Any, bytes]] = []
    for layer in attachments.layers:
        if layer.error is not None:
            if isinstance(layer.error, RegistryError):
                raise layer.error
            continue
        if layer.data is None:
            continue
        try:
            envelope = json.loads(layer.data)
            statement = json.loads(base64.b64decode(envelope["payload"]))
        except (ValueError, KeyError, TypeError):
            continue
        subjects = statement.get("subject") if isinstance(statement, dict) else None
        digests = [
            s.get("digest", {}).get("sha256")
            for s in subjects or ()
            if isinstance(s, dict) and isinstance(s.get("digest"), dict)
        ]
        if hexpart in digests and statement.get("predicateType") != verify.COSIGN_SIGN_PREDICATE:
            found.append((statement, layer.data))
    return found


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
    pool: oci.RegistryPool, registry: oci.Registry, ref: oci.Reference, manifest: RawManifest
) -> tuple[dict[str, Any] | None, str | None, dict[str, Any] | None]:
    """The image's config section, and its parent's (best effort, as Conforma).

    The parent is opened through the same pool (same credentials, TLS and retries).
    """
    if manifest.is_index:
        return None, None, None
    config = _config_section(registry, ref.repository, manifest)
    annotations = manifest.manifest.annotations or {}
    base_name, base_digest = annotations.get(_BASE_NAME), annotations.get(_BASE_DIGEST)
    if not base_name or not base_digest:
        return config, None, None
    parent_text = f"{base_name}@{base_digest}"
    try:
        parent_registry, parent_ref = pool.open(parent_text)
        parent_manifest = parent_registry.get_manifest(parent_ref.repository, base_digest)
        parent_config = (
            _config_section(parent_registry, parent_ref.repository, parent_manifest)
            if parent_manifest is not None and not parent_manifest.is_index
            else None
        )
    except KonfluxSupplyError:
        parent_config = None
    return config, parent_text, parent_config


def _config_section(
    registry: oci.Registry, repository: str, manifest: RawManifest
) -> dict[str, Any] | None:
    descriptor = manifest.manifest.config
    try:
        blob = registry.get_blob(repository, descriptor, limit=registry.limits.max_manifest_bytes)
        document = json.loads(blob)
    except (KonfluxSupplyError, ValueError):
        return None
    section = document.get("config") if isinstance(document, dict) else None
    return section if isinstance(section, dict) else None
