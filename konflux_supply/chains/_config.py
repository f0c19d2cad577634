"""Chains' ConfigMap (``chains-config``) read the way Chains reads it (``pkg/config/config.go``).

Same keys, same defaults, same accepted values. Where Chains rejects a value (a format, a
storage backend or signer it does not know), :class:`InputError` names the key. Where Chains
silently ignores a value (a bool it cannot parse), we keep Chains' default and say so in
``warnings``; unknown keys are warnings too. What Chains accepts but this library cannot do
honestly (storage backends other than ``tekton``/``oci``, keyless Fulcio signing, a
transparency log whose answers cannot be verified) is an :class:`InputError` naming the key:
accepting it would end in runs that look signed (or logged) and are not (reference/chains.md
§5, issues #858/#1796).

Transparency (``transparency.enabled: "true"|"manual"``, ``transparency.url``, default
``https://rekor.sigstore.dev``) needs the log's public key, because every entry the log
returns is verified before it is trusted (ADR 0081): our own keys
``transparency.public-key`` (PEM text, or the path of a PEM file) or
``transparency.trust-served-key: "true"`` (trust what ``GET /api/v1/log/publicKey`` serves,
over HTTPS or loopback only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from konflux_supply.errors import InputError
from konflux_supply.publish import DEFAULT_REKOR_URL, check_rekor_trust, check_rekor_url

__all__ = [
    "DEFAULT_BUILDER_ID",
    "DEFAULT_BUILD_TYPE",
    "FORMATS",
    "STORAGE_BACKENDS",
    "ArtifactConfig",
    "Config",
]

FORMATS = ("in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4")
"""Formats Chains accepts for TaskRuns and PipelineRuns."""
OCI_FORMATS = ("simplesigning",)
SIGNERS = ("x509", "kms", "none")
STORAGE_BACKENDS = ("tekton", "oci")
"""Storage backends this library implements (``""`` = none)."""
_CHAINS_STORAGE = frozenset({"tekton", "oci", "gcs", "docdb", "grafeas", "archivista"})
_CHAINS_STORAGE_KAFKA = _CHAINS_STORAGE | {"kafka"}
DEFAULT_BUILDER_ID = "https://tekton.dev/chains/v2"
DEFAULT_BUILD_TYPE = "https://tekton.dev/chains/v2/slsa"
_BUILD_TYPES = (DEFAULT_BUILD_TYPE, "https://tekton.dev/chains/v2/slsa-tekton")
_ENCODINGS = ("dsse", "sigstore-bundle")
#: Our own key (not Chains'): sign and store runs that did not succeed.
SIGN_FAILED_RUNS_KEY = "sign-failed-runs"
#: Our own keys (not Chains'): how the transparency log's answers are verified.
TRANSPARENCY_KEY_KEY = "transparency.public-key"
TRANSPARENCY_TRUST_SERVED_KEY = "transparency.trust-served-key"

#: Keys Chains reads that have no effect here (backends we do not implement keep their
#: settings; a warning says they are unused).
_UNUSED_KEYS = frozenset(
    {
        "storage.gcs.bucket",
        "storage.docdb.url",
        "storage.docdb.mongo-server-url",
        "storage.docdb.mongo-server-url-dir",
        "storage.docdb.mongo-server-url-path",
        "storage.archivista.url",
        "storage.grafeas.projectid",
        "storage.grafeas.noteid",
        "storage.grafeas.notehint",
        "storage.pubsub.provider",
        "storage.pubsub.topic",
        "storage.pubsub.kafka.bootstrap.servers",
        "signers.kms.auth.address",
        "signers.kms.auth.token",
        "signers.kms.auth.token-path",
        "signers.kms.auth.oidc.path",
        "signers.kms.auth.oidc.role",
        "signers.kms.auth.oidc.token-path",
        "signers.kms.auth.spire.sock",
        "signers.kms.auth.spire.audience",
        "signers.x509.fulcio.address",
        "signers.x509.fulcio.issuer",
        "signers.x509.fulcio.provider",
        "signers.x509.identity.token.file",
        "signers.x509.tuf.mirror.url",
        "filter.managed-by",
    }
)
_KNOWN_KEYS = (
    _UNUSED_KEYS
    | {
        f"artifacts.{kind}.{item}"
        for kind in ("taskrun", "pipelinerun", "oci")
        for item in ("format", "storage", "signer")
    }
    | {
        "artifacts.pipelinerun.enable-deep-inspection",
        "builder.id",
        "builddefinition.buildtype",
        "storage.oci.repository",
        "storage.oci.repository.insecure",
        "storage.oci.encoding-format",
        "signers.kms.kmsref",
        "signers.x509.fulcio.enabled",
        "transparency.enabled",
        "transparency.url",
        TRANSPARENCY_KEY_KEY,
        TRANSPARENCY_TRUST_SERVED_KEY,
        SIGN_FAILED_RUNS_KEY,
    }
)
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True)
class ArtifactConfig:
    """How one artifact type (``taskrun``, ``pipelinerun``, ``oci``) is formatted, signed and
    stored. ``storage`` is a set of backends; empty means "store nowhere" (Chains' ``""``)."""

    format: str
    storage: frozenset[str]
    signer: str = "x509"
    deep_inspection: bool = False

    @property
    def enabled(self) -> bool:
        """Chains' ``Artifact.Enabled()``: a signer other than ``none`` and some storage."""
        return self.signer != "none" and bool(self.storage)


@dataclass(frozen=True)
class Config:
    """A Chains configuration (``chains-config`` ConfigMap), defaults exactly as Chains'.

    Build it with :meth:`from_configmap` (validated as Chains validates, plus what this
    library refuses); constructing it directly skips those checks, and whatever is wrong
    (an unknown format) then shows up as a failed artifact in the sign outcome.

    ``transparency`` is on for ``transparency.enabled: "true"`` and ``"manual"``
    (``transparency_manual``: only runs annotated ``chains.tekton.dev/transparency-upload:
    "true"`` are logged); ``transparency_public_key`` (PEM) or
    ``transparency_trust_served_key`` says how the log's answers are verified.
    """

    taskrun: ArtifactConfig = ArtifactConfig("in-toto", frozenset({"tekton"}))
    pipelinerun: ArtifactConfig = ArtifactConfig("in-toto", frozenset({"tekton"}))
    oci: ArtifactConfig = ArtifactConfig("simplesigning", frozenset({"oci"}))
    builder_id: str = DEFAULT_BUILDER_ID
    build_type: str = DEFAULT_BUILD_TYPE
    oci_repository: str = ""
    oci_insecure: bool = False
    oci_encoding: str = "dsse"
    kms_ref: str = ""
    transparency: bool = False
    transparency_manual: bool = False
    transparency_url: str = DEFAULT_REKOR_URL
    transparency_public_key: bytes | None = field(default=None, repr=False)
    transparency_trust_served_key: bool = False
    sign_failed_runs: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_configmap(cls, document: str | bytes | Mapping[str, Any]) -> Config:
        """Read a ConfigMap: YAML/JSON text or a parsed mapping, either the whole object
        (``kind: ConfigMap`` with ``data:``) or the ``data:`` map itself."""
        doc: Any = document
        if isinstance(document, str | bytes):
            try:
                doc = yaml.safe_load(document)
            except yaml.YAMLError as error:
                raise InputError(f"not YAML: {_one_line(error)}", field="configmap") from None
            except RecursionError:
                raise InputError("the document is nested too deeply", field="configmap") from None
        if doc is None:
            doc = {}
        if not isinstance(doc, Mapping):
            raise InputError("a ConfigMap must be a mapping", field="configmap")
        if "data" in doc and ("kind" in doc or "apiVersion" in doc or "metadata" in doc):
            data = doc.get("data")
            if data is None:
                data = {}
            if not isinstance(data, Mapping):
                raise InputError("data must be a mapping of strings", field="data")
        elif "kind" in doc or "apiVersion" in doc:
            data = {}
        else:
            data = doc
        return cls.from_data(data)

    @classmethod
    def from_data(cls, data: Mapping[Any, Any]) -> Config:
        """The ConfigMap's ``data`` (string keys and values, as Kubernetes stores them)."""
        values: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                raise InputError("ConfigMap keys must be strings", field="data")
            if not isinstance(value, str):
                raise InputError(
                    f'ConfigMap values must be strings (quote it: {key}: "…")', field=key or "data"
                )
            values[key] = value
        return _parse(values)

    def artifact(self, kind: str) -> ArtifactConfig:
        """The configuration of ``taskrun``, ``pipelinerun`` or ``oci``."""
        if kind not in ("taskrun", "pipelinerun", "oci"):
            raise InputError(f"unknown artifact type {kind!r}", field="kind")
        found: ArtifactConfig = getattr(self, kind)
        return found


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]


def _choice(data: dict[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    if key not in data:
        return default
    value = data[key]
    if value not in allowed:
        raise InputError(f"invalid value {value!r}, wanted one of {sorted(allowed)}", field=key)
    return value


def _storage(
    data: dict[str, str], key: str, allowed: frozenset[str], default: frozenset[str]
) -> frozenset[str]:
    if key not in data:
        return default
    raw = data[key]
    if raw == "":
        return frozenset()
    names = [part.strip() for part in raw.split(",")]
    for name in names:
        if name not in allowed:
            raise InputError(f"invalid value {name!r}, wanted one of {sorted(allowed)}", field=key)
    unsupported = sorted(set(names) - set(STORAGE_BACKENDS))
    if unsupported:
        raise InputError(
            f"storage backend {unsupported[0]!r} is valid for Chains but not implemented by "
            f'konflux-supply (use {" or ".join(STORAGE_BACKENDS)}, or "" for none)',
            field=key,
        )
    return frozenset(names)


def _bool(data: dict[str, str], key: str, default: bool, warnings: list[str]) -> bool:
    if key not in data:
        return default
    value = data[key]
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    warnings.append(f"{key}: {value!r} is not a boolean; Chains ignores it (kept {default})")
    return default


def _public_key(value: str) -> bytes:
    if "-----BEGIN" in value:
        return value.encode()
    try:
        return Path(value).read_bytes()
    except OSError as error:
        raise InputError(
            f"neither PEM text nor a readable file: {error.strerror}", field=TRANSPARENCY_KEY_KEY
        ) from None


def _transparency(data: dict[str, str], warnings: list[str]) -> dict[str, Any]:
    """The ``transparency_*`` fields; checked only when transparency is on (as Chains reads
    ``transparency.url`` only then)."""
    enabled = data.get("transparency.enabled", "false")
    if enabled not in ("true", "manual", "false"):
        warnings.append(
            f"transparency.enabled: {enabled!r} is not true, manual or false; Chains reads it "
            "as false"
        )
    trust_served = _bool(data, TRANSPARENCY_TRUST_SERVED_KEY, False, warnings)
    if enabled not in ("true", "manual"):
        return {}
    url = check_rekor_url(data.get("transparency.url", DEFAULT_REKOR_URL))
    key = _public_key(data[TRANSPARENCY_KEY_KEY]) if TRANSPARENCY_KEY_KEY in data else None
    check_rekor_trust(url, key, trust_served)
    if data.get("storage.oci.encoding-format") == "sigstore-bundle":
        raise InputError(
            "logging sigstore-bundle attachments in a transparency log is not implemented by "
            "konflux-supply (only the dsse encoding's .sig/.att layers carry Rekor bundles)",
            field="transparency.enabled",
            hint='use storage.oci.encoding-format: "dsse", or transparency.enabled: "false"',
        )
    return {
        "transparency": True,
        "transparency_manual": enabled == "manual",
        "transparency_url": url,
        "transparency_public_key": key,
        "transparency_trust_served_key": trust_served,
    }


def _parse(data: dict[str, str]) -> Config:
    warnings: list[str] = []
    for key in sorted(data):
        if key not in _KNOWN_KEYS:
            warnings.append(f"{key}: unknown key, ignored")
        elif key in _UNUSED_KEYS:
            warnings.append(f"{key}: read by Chains, no effect in konflux-supply")
    base = Config()
    artifacts: dict[str, ArtifactConfig] = {}
    for kind, formats, storages in (
        ("taskrun", FORMATS, _CHAINS_STORAGE_KAFKA),
        ("pipelinerun", FORMATS, _CHAINS_STORAGE),
        ("oci", OCI_FORMATS, _CHAINS_STORAGE_KAFKA),
    ):
        default = base.artifact(kind)
        prefix = f"artifacts.{kind}."
        artifacts[kind] = replace(
            default,
            format=_choice(data, prefix + "format", formats, default.format),
            storage=_storage(data, prefix + "storage", storages, default.storage),
            signer=_choice(data, prefix + "signer", SIGNERS, default.signer),
        )
    artifacts["pipelinerun"] = replace(
        artifacts["pipelinerun"],
        deep_inspection=_bool(
            data, "artifacts.pipelinerun.enable-deep-inspection", False, warnings
        ),
    )
    _choice(data, "storage.pubsub.provider", ("inmemory", "kafka"), "")
    transparency = _transparency(data, warnings)
    if _bool(data, "signers.x509.fulcio.enabled", False, warnings):
        raise InputError(
            "keyless (Fulcio) signing is not implemented by konflux-supply",
            field="signers.x509.fulcio.enabled",
            hint="use a key in the signing secrets (x509.pem or cosign.key) or signers.kms.kmsref",
        )
    return Config(
        taskrun=artifacts["taskrun"],
        pipelinerun=artifacts["pipelinerun"],
        oci=artifacts["oci"],
        builder_id=data.get("builder.id", base.builder_id),
        build_type=_choice(data, "builddefinition.buildtype", _BUILD_TYPES, base.build_type),
        oci_repository=data.get("storage.oci.repository", ""),
        oci_insecure=_bool(data, "storage.oci.repository.insecure", False, warnings),
        oci_encoding=_choice(data, "storage.oci.encoding-format", _ENCODINGS, "dsse"),
        kms_ref=data.get("signers.kms.kmsref", ""),
        **transparency,
        sign_failed_runs=_bool(data, SIGN_FAILED_RUNS_KEY, False, warnings),
        warnings=tuple(warnings),
    )
