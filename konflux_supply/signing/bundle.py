"""Offline verification of Sigstore bundles (v0.1 to v0.3), and key-only bundle writing.

* **Key-based** bundles (``verificationMaterial.publicKey``: what ``cosign sign-blob --key`` and
  cosign v3 write) are verified by our own code (sigstore-python cannot): the signature (over
  the artifact, or DSSE over the PAE) with the given key, the ``messageDigest``, and — unless
  the caller passes :data:`UNSAFE_IGNORE_TLOG` — at least one Rekor v1 entry whose inclusion
  promise/proof and checkpoint verify with a :class:`TrustedRoot` and whose body names this
  artifact, signature and key. cosign's older blob bundle (``base64Signature``, ``cert``,
  ``rekorBundle``; ``sign-blob --bundle`` without ``--new-bundle-format``) is read as the same
  key-based bundle (``_legacy_bundle``).
* **Keyless** bundles (a Fulcio certificate) go to sigstore-python (extra ``keyless``) with a
  trusted root read from a file and an exact identity/issuer policy.

Every function returns what it verified or raises (:class:`VerificationError` for a bundle
that does not hold, :class:`InputError` for a malformed one, :class:`BackendUnavailable` for a
missing extra). Timestamps (RFC 3161) are not needed for key-based bundles and are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from konflux_supply.errors import (
    BackendUnavailable,
    InputError,
    KonfluxSupplyError,
    VerificationError,
)
from konflux_supply.models.canonical import dumps_compact
from konflux_supply.models.dsse import Envelope
from konflux_supply.signing import _keys, _legacy_bundle, _rekor, dsse
from konflux_supply.signing._keypair import _as_public_key, load_public_key
from konflux_supply.signing._protocols import Signer, Verifier

__all__ = [
    "BUNDLE_V03",
    "UNSAFE_IGNORE_TLOG",
    "TrustedRoot",
    "UnsafeIgnoreTlog",
    "VerifiedBundle",
    "dsse_bundle",
    "key_hint",
    "message_signature_bundle",
    "parse",
    "verify_key_bundle",
    "verify_keyless_bundle",
]

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
MEDIA_TYPES = frozenset(
    {
        BUNDLE_V03,
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
MAX_BUNDLE_BYTES = 128 * 1024 * 1024
_DIGESTS = {"SHA2_256": "sha256", "SHA2_384": "sha384", "SHA2_512": "sha512"}


class UnsafeIgnoreTlog:
    """Skip transparency-log checks (cosign's ``--insecure-ignore-tlog``). Use knowingly."""

    def __repr__(self) -> str:
        return "UNSAFE_IGNORE_TLOG"


UNSAFE_IGNORE_TLOG: Final = UnsafeIgnoreTlog()


@dataclass(frozen=True)
class TrustedRoot:
    """The transparency-log keys of a Sigstore ``trusted_root.json`` (plus the raw document)."""

    raw: bytes
    tlogs: tuple[_rekor.TransparencyLog, ...]

    @classmethod
    def from_json(cls, data: bytes, *, source: str | None = None) -> TrustedRoot:
        """Parse a trusted root document; malformed ones raise :class:`InputError`."""
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InputError("the trusted root is not JSON", source=source) from None
        return cls(bytes(data), _rekor.parse_tlogs(doc, source=source))

    @classmethod
    def from_file(cls, path: str | Path) -> TrustedRoot:
        """Read and parse ``trusted_root.json``."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise InputError(
                f"cannot read trusted root: {error.strerror}", source=str(path)
            ) from None
        return cls.from_json(data, source=str(path))


@dataclass(frozen=True)
class VerifiedBundle:
    """What a bundle proved: the key or identity, and for DSSE bundles the payload."""

    media_type: str
    payload: bytes | None
    payload_type: str | None
    public_key_pem: bytes | None
    identity: str | None
    tlog_entries: int
    integrated_time: int | None


def key_hint(public_key: object) -> str:
    """cosign's bundle ``publicKey.hint``: base64 of SHA-256 over the key's PKIX DER."""

    return base64.b64encode(
        hashlib.sha256(_keys.spki_der(_as_public_key(public_key))).digest()
    ).decode()


def parse(data: bytes | str | Mapping[str, Any], *, source: str | None = None) -> dict[str, Any]:
    """A bundle's JSON object with its media type checked (the input is not modified)."""
    if isinstance(data, Mapping):
        doc: Any = json.loads(json.dumps(dict(data)))
    else:
        if len(data) > MAX_BUNDLE_BYTES:
            raise InputError("the bundle is too large", source=source)
        try:
            doc = json.loads(data)
        except RecursionError:
            raise InputError("invalid bundle JSON: nested too deeply", source=source) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise InputError(f"invalid bundle JSON: {error}", source=source) from None
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", field="(bundle)", source=source)
    media = doc.get("mediaType")
    if _legacy_bundle.is_legacy_blob_bundle(doc):
        raise InputError(
            "cosign's older blob bundle (base64Signature) is key-based: verify it with a key",
            field="mediaType",
            source=source,
        )
    if not isinstance(media, str) or media not in MEDIA_TYPES:
        raise InputError(
            f"unsupported bundle media type {media!r}", field="mediaType", source=source
        )
    if not isinstance(doc.get("verificationMaterial"), dict):
        raise InputError("required field is missing", field="verificationMaterial", source=source)
    if ("messageSignature" in doc) == ("dsseEnvelope" in doc):
        raise InputError(
            "a bundle holds exactly one of messageSignature and dsseEnvelope",
            field="(bundle)",
            source=source,
        )
    return doc


def _legacy_blob_bundle(
    data: bytes | str | Mapping[str, Any], source: str | None
) -> Mapping[str, Any] | None:
    """``data`` as cosign's older blob bundle (``base64Signature``, ``cert``, ``rekorBundle``)."""
    if isinstance(data, Mapping):
        return data if _legacy_bundle.is_legacy_blob_bundle(dict(data)) else None
    if len(data) > MAX_BUNDLE_BYTES:
        raise InputError("the bundle is too large", source=source)
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError, UnicodeDecodeError):
        return None  # parse() reports it
    return doc if _legacy_bundle.is_legacy_blob_bundle(doc) else None


def _subject_has(payload: bytes, artifact: bytes) -> bool:
    try:
        statement = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    digest = hashlib.sha256(artifact).hexdigest()
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    return any(
        isinstance(s, dict)
        and isinstance(s.get("digest"), dict)
        and s["digest"].get("sha256") == digest
        for s in subjects or []
    )


def _verified_signatures(envelope: Envelope, verifier: Verifier) -> list[bytes]:
    message = dsse.pae(envelope.payload_type, envelope.payload_bytes)
    out: list[bytes] = []
    for signature in envelope.signatures:
        raw = signature.signature
        if not raw:
            continue
        try:
            verifier.verify(raw, message)
        except VerificationError:
            continue
        out.append(raw)
    return out


def verify_key_bundle(
    bundle: bytes | str | Mapping[str, Any],
    verifier: Verifier,
    *,
    trusted_root: TrustedRoot | UnsafeIgnoreTlog,
    artifact: bytes | None = None,
    check_claims: bool = True,
    source: str | None = None,
) -> VerifiedBundle:
    """Verify a key-based bundle with ``verifier`` (see the module doc).

    ``check_claims=False`` (cosign's ``--check-claims=false``) does not require a DSSE
    statement to name ``artifact`` as a subject; a message signature still needs the artifact.
    """
    if not isinstance(trusted_root, TrustedRoot | UnsafeIgnoreTlog):
        raise InputError("pass a TrustedRoot, or UNSAFE_IGNORE_TLOG to skip the log checks")
    legacy = _legacy_blob_bundle(bundle, source)
    if legacy is not None:  # cosign's older blob bundle: the same facts as a v0.3 bundle
        bundle = _legacy_bundle.upgrade(
            legacy, load_public_key(verifier.public_key_pem()), source=source
        )
    doc = parse(bundle, source=source)
    material = doc["verificationMaterial"]
    if "publicKey" not in material:
        raise InputError(
            "the bundle has no publicKey verification material (a keyless bundle needs an "
            "identity and issuer instead of a key)",
            field="verificationMaterial.publicKey",
            source=source,
        )
    key = load_public_key(verifier.public_key_pem())
    hint = _rekor.dig(material, "publicKey", "hint")
    if hint and hint != key_hint(key):
        raise VerificationError("the bundle was made with another key (publicKey.hint differs)")
    payload: bytes | None = None
    payload_type: str | None = None
    if "messageSignature" in doc:
        if artifact is None:
            raise InputError("this bundle signs an artifact: pass the artifact", field="artifact")
        message = _rekor.obj(doc["messageSignature"], "messageSignature")
        signature = _rekor.b64(message.get("signature"), "messageSignature.signature")
        digest = hashlib.sha256(artifact).digest()
        declared = message.get("messageDigest")
        if declared is not None:
            name = _DIGESTS.get(str(_rekor.dig(declared, "algorithm")))
            if name is None:
                raise InputError("unsupported digest", field="messageSignature.messageDigest")
            value = _rekor.b64(
                _rekor.dig(declared, "digest"), "messageSignature.messageDigest.digest"
            )
            if value != hashlib.new(name, artifact).digest():
                raise VerificationError("the bundle's message digest does not match the artifact")
        verifier.verify(signature, artifact)
        signatures = [signature]
    else:
        envelope = Envelope.from_dict(
            _rekor.obj(doc["dsseEnvelope"], "dsseEnvelope"), source=source
        )
        payload = dsse.verify(envelope, [verifier])
        payload_type = envelope.payload_type
        # Only signatures by this key over *this* envelope (payloadType included) may match
        # the log entry: a logged signature carried over from another envelope with the same
        # payload must not vouch for this one.
        signatures = _verified_signatures(envelope, verifier)
        if check_claims and artifact is not None and not _subject_has(payload, artifact):
            raise VerificationError("no subject of the statement has the artifact's sha256")
    entries = _rekor.arr(material.get("tlogEntries"), "verificationMaterial.tlogEntries")
    integrated: int | None = None
    if isinstance(trusted_root, TrustedRoot):
        if not entries:
            raise VerificationError(
                "the bundle has no transparency log entry",
                hint="pass UNSAFE_IGNORE_TLOG (--insecure-ignore-tlog) for never-logged signatures",
            )
        for index, entry in enumerate(entries):
            checked = _rekor.verify_entry(
                entry, trusted_root.tlogs, field=f"verificationMaterial.tlogEntries[{index}]"
            )
            if payload is None:
                assert artifact is not None
                _rekor.check_hashedrekord(checked.body, digest, signatures[0], key)
            else:
                _rekor.check_dsse(checked.body, payload, signatures, key)
            integrated = checked.integrated_time
    return VerifiedBundle(
        media_type=str(doc["mediaType"]),
        payload=payload,
        payload_type=payload_type,
        public_key_pem=_keys.public_key_pem(key),
        identity=None,
        tlog_entries=len(entries) if isinstance(trusted_root, TrustedRoot) else 0,
        integrated_time=integrated,
    )


def verify_keyless_bundle(
    bundle: bytes | str | Mapping[str, Any],
    *,
    trusted_root: TrustedRoot | str | Path,
    identity: str | re.Pattern[str],
    issuer: str | re.Pattern[str],
    artifact: bytes | None = None,
    check_claims: bool = True,
    source: str | None = None,
) -> VerifiedBundle:
    """Verify a certificate (Fulcio) bundle with sigstore-python, fully offline.

    ``identity`` (a certificate SAN) and ``issuer`` (the OIDC issuer) must match: a string
    exactly, a compiled pattern by ``search`` (as cosign's ``-regexp`` flags);
    ``check_claims`` as for :func:`verify_key_bundle`.
    """
    if not identity or not issuer:
        raise InputError(
            "keyless verification needs both an identity and an issuer", field="identity"
        )
    doc = parse(bundle, source=source)
    try:
        from sigstore.errors import Error as SigstoreError
        from sigstore.models import Bundle
        from sigstore.models import TrustedRoot as SigstoreRoot
        from sigstore.verify import Verifier as SigstoreVerifier
        from sigstore.verify.policy import Identity
    except ImportError:
        raise BackendUnavailable.missing_extra("keyless", "sigstore") from None
    try:
        if isinstance(trusted_root, TrustedRoot):
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".json") as handle:
                handle.write(trusted_root.raw)
                handle.flush()
                root = SigstoreRoot.from_file(handle.name)
        else:
            root = SigstoreRoot.from_file(str(trusted_root))
        parsed = Bundle.from_json(json.dumps(doc))
    except (SigstoreError, ValueError, OSError) as error:
        raise InputError(f"invalid bundle or trusted root: {error}", source=source) from None
    verifier = SigstoreVerifier(trusted_root=root)
    policy: Any
    if isinstance(identity, str) and isinstance(issuer, str):
        policy = Identity(identity=identity, issuer=issuer)
    else:
        policy = _MatchingIdentity(identity, issuer)
    payload: bytes | None = None
    payload_type: str | None = None
    try:
        if "dsseEnvelope" in doc:
            payload_type, payload = verifier.verify_dsse(parsed, policy)
            if check_claims and artifact is not None and not _subject_has(payload, artifact):
                raise VerificationError("no subject of the statement has the artifact's sha256")
        else:
            if artifact is None:
                raise InputError(
                    "this bundle signs an artifact: pass the artifact", field="artifact"
                )
            verifier.verify_artifact(artifact, parsed, policy)
    except KonfluxSupplyError:
        raise
    except SigstoreError as error:
        raise VerificationError(f"keyless bundle: {error}") from None
    except Exception as error:  # hostile certificates/bundles reach cryptography, x509, …
        raise VerificationError(
            f"keyless bundle could not be verified: {type(error).__name__}: {error}"
        ) from None
    return VerifiedBundle(
        media_type=str(doc["mediaType"]),
        payload=payload,
        payload_type=payload_type,
        public_key_pem=None,
        identity=identity if isinstance(identity, str) else identity.pattern,
        tlog_entries=len(_rekor.arr(doc["verificationMaterial"].get("tlogEntries"), "tlogEntries")),
        integrated_time=None,
    )


_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"  # DER UTF8String
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"  # raw bytes


def _der_utf8(data: bytes) -> str:
    if len(data) < 2 or data[0] != 0x0C:
        raise ValueError("not a DER UTF8String")
    length, offset = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    if offset + length != len(data):
        raise ValueError("bad DER length")
    return data[offset:].decode("utf-8")


class _MatchingIdentity:
    """A sigstore-python policy: a SAN and the OIDC issuer, exactly or by pattern search."""

    def __init__(self, identity: str | re.Pattern[str], issuer: str | re.Pattern[str]) -> None:
        self.identity = identity
        self.issuer = issuer

    @staticmethod
    def _holds(wanted: str | re.Pattern[str], value: str) -> bool:
        if isinstance(wanted, str):
            return value == wanted
        return wanted.search(value) is not None

    def verify(self, cert: Any) -> None:
        from cryptography import x509
        from cryptography.x509.oid import ObjectIdentifier
        from sigstore.errors import VerificationError as SigstoreVerificationError

        issuer: str | None = None
        for oid, decode in ((_ISSUER_V2, _der_utf8), (_ISSUER_V1, bytes.decode)):
            try:
                ext = cert.extensions.get_extension_for_oid(ObjectIdentifier(oid))
            except x509.ExtensionNotFound:
                continue
            issuer = decode(ext.value.value)
            break
        if issuer is None or not self._holds(self.issuer, issuer):
            raise SigstoreVerificationError(f"the certificate's OIDC issuer {issuer!r} differs")
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*sans.get_values_for_type(x509.RFC822Name)]
        names += sans.get_values_for_type(x509.UniformResourceIdentifier)
        names += [
            other.value.decode(errors="replace")
            for other in sans.get_values_for_type(x509.OtherName)
            if other.type_id.dotted_string == "1.3.6.1.4.1.57264.1.7"
        ]
        if not any(self._holds(self.identity, name) for name in names):
            raise SigstoreVerificationError(f"no SAN of the certificate matches ({names})")


def _material(signer: Signer) -> dict[str, Any]:
    return {"publicKey": {"hint": key_hint(signer.public_key_pem())}}


def message_signature_bundle(artifact: bytes, signature: bytes, signer: Signer) -> bytes:
    """A key-only v0.3 bundle for a blob signature (no tlog entry: UNSAFE_IGNORE_TLOG to verify)."""
    doc = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": _material(signer),
        "messageSignature": {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": base64.b64encode(hashlib.sha256(artifact).digest()).decode(),
            },
            "signature": base64.b64encode(signature).decode(),
        },
    }
    return dumps_compact(doc)


def dsse_bundle(envelope: Envelope, signer: Signer) -> bytes:
    """A key-only v0.3 bundle around a DSSE envelope (protojson field names, no keyid if empty)."""
    signatures: Sequence[dict[str, str]] = [
        {"sig": s.sig, **({"keyid": s.keyid} if s.keyid else {})} for s in envelope.signatures
    ]
    doc = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": _material(signer),
        "dsseEnvelope": {
            "payload": envelope.payload,
            "payloadType": envelope.payload_type,
            "signatures": list(signatures),
        },
    }
    return dumps_compact(doc)
