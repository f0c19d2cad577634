"""Key types, cosign's key rules, and in-process signing and verification.

Signing follows cosign (``sigstore/pkg/signature`` ``LoadDefaultSignerVerifier`` with cosign's
default load options): ECDSA hashes with the curve's hash (P-256 SHA-256, P-384 SHA-384, P-521
SHA-512) and returns ASN.1 DER; RSA is PKCS#1 v1.5 with SHA-256; Ed25519 is Ed25519ph.

Verification accepts every scheme a holder of the key could have produced with the sigstore
tools (docs/adr/0021): for ECDSA the curve's hash and SHA-256 (cosign's legacy verify path); for
RSA PKCS#1 v1.5 and PSS with SHA-256/384/512 (KMS keys sign with their first algorithm); for
Ed25519 Ed25519ph and pure Ed25519. Each alternative is a sound signature by the same key, so
accepting it never accepts a forgery.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from nacl import bindings as _nacl
from nacl.exceptions import BadSignatureError, CryptoError

from konflux_supply.errors import InputError, VerificationError
from konflux_supply.signing._pem import decode_pem, encode_pem, looks_like_pem

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# curve name -> (cosign curve label, hash, cosign signing-algorithm name)
_CURVES: dict[str, tuple[str, type[hashes.HashAlgorithm], str]] = {
    "secp256r1": ("P-256", hashes.SHA256, "ecdsa-sha2-256-nistp256"),
    "secp384r1": ("P-384", hashes.SHA384, "ecdsa-sha2-384-nistp384"),
    "secp521r1": ("P-521", hashes.SHA512, "ecdsa-sha2-512-nistp521"),
}
_CURVE_LABELS = {"secp224r1": "P-224", **{name: info[0] for name, info in _CURVES.items()}}
_RSA_SIZES = (2048, 3072, 4096)
_RSA_HASHES: tuple[type[hashes.HashAlgorithm], ...] = (hashes.SHA256, hashes.SHA384, hashes.SHA512)


def check_key(key: PublicKey | PrivateKey | Any, *, source: str | None = None) -> None:
    """Accept exactly the keys cosign's ``ValidatePubKey`` accepts, else :class:`InputError`.

    RSA: modulus byte length x 8 in {2048, 3072, 4096} (Go's ``Size()*8``); ECDSA: P-256, P-384,
    P-521; Ed25519. Anything else is rejected with cosign's wording.
    """
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        bits = ((key.key_size + 7) // 8) * 8
        if bits not in _RSA_SIZES:
            raise InputError(
                f"key size not supported: rsa key size {bits} is not supported, "
                "modulus size must be 2048, 3072, or 4096",
                source=source,
            )
        return
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            label = _CURVE_LABELS.get(key.curve.name, key.curve.name)
            raise InputError(
                f"ECDSA curve {label} not allowed: must be NIST P-256, P-384 or P-521",
                source=source,
            )
        return
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return
    raise InputError(
        f"unsupported key type {type(key).__name__}: cosign keys are RSA, ECDSA or Ed25519",
        source=source,
    )


def algorithm_name(key: PublicKey | PrivateKey) -> str:
    """cosign's ``--signing-algorithm`` name for the default scheme of this key."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVES[key.curve.name][2]
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"rsa-sign-pkcs1-{((key.key_size + 7) // 8) * 8}-sha256"
    return "ed25519-ph"


def default_hash(key: PublicKey | PrivateKey) -> hashes.HashAlgorithm:
    """The hash cosign signs with for this key (Ed25519ph: SHA-512)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVES[key.curve.name][1]()
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return hashes.SHA512()
    return hashes.SHA256()


def spki_der(key: PublicKey) -> bytes:
    """The PKIX SubjectPublicKeyInfo DER of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_pem(key: PublicKey) -> bytes:
    """PKIX PEM exactly as cosign writes ``cosign.pub``."""
    return encode_pem("PUBLIC KEY", spki_der(key))


def ssh_fingerprint(key: PublicKey) -> str:
    """``ssh.FingerprintSHA256``: ``SHA256:`` + unpadded base64 of SHA-256 of the SSH wire key."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    wire = base64.b64decode(line.split()[1])
    digest = hashlib.sha256(wire).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def load_public_key(data: bytes, *, source: str | None = None) -> PublicKey:
    """Parse a public key: PEM ``PUBLIC KEY`` (PKIX), ``RSA PUBLIC KEY`` (PKCS#1) or DER PKIX.

    The key must be one cosign accepts (:func:`check_key`).
    """
    if looks_like_pem(data):
        block = decode_pem(data, source=source)
        if block.type == "PUBLIC KEY":
            key = _load_spki(block.der, source=source)
        elif block.type == "RSA PUBLIC KEY":
            try:
                key = serialization.load_der_public_key(_pkcs1_to_spki(block.der))
            except (ValueError, UnsupportedAlgorithm):
                raise InputError("malformed PKCS#1 RSA public key", source=source) from None
        else:
            raise InputError(
                f"unknown Public key PEM file type: {block.type}. "
                "Are you passing the correct public key?",
                source=source,
            )
    else:
        key = _load_spki(data, source=source)
    check_key(key, source=source)
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise InputError("unsupported public key type", source=source)  # pragma: no cover
    return key


def _load_spki(der: bytes, *, source: str | None) -> Any:
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm) as error:
        detail = str(error).split("\n")[0][:120] or type(error).__name__
        raise InputError(f"malformed public key: {detail}", source=source) from None


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _pkcs1_to_spki(pkcs1: bytes) -> bytes:
    """Wrap a PKCS#1 RSAPublicKey in a PKIX SubjectPublicKeyInfo."""
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bit_string = b"\x03" + _der_length(len(pkcs1) + 1) + b"\x00" + pkcs1
    body = algorithm + bit_string
    return b"\x30" + _der_length(len(body)) + body


# -- signing ---------------------------------------------------------------------------------


class Ed25519phKey:
    """Ed25519ph (RFC 8032, empty context) via libsodium, like Go's ``ed25519.Options{SHA512}``."""

    __slots__ = ("_public", "_secret")

    def __init__(self, private_key: ed25519.Ed25519PrivateKey) -> None:
        seed = private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        self._public, self._secret = _nacl.crypto_sign_seed_keypair(seed)

    def sign(self, data: bytes) -> bytes:
        state = _nacl.crypto_sign_ed25519ph_state()
        _nacl.crypto_sign_ed25519ph_update(state, data)
        return bytes(_nacl.crypto_sign_ed25519ph_final_create(state, self._secret))


def ed25519ph_verify(public_key: ed25519.Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519ph signature of ``data``."""
    if len(signature) != 64:
        return False
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    state = _nacl.crypto_sign_ed25519ph_state()
    _nacl.crypto_sign_ed25519ph_update(state, data)
    try:
        return bool(_nacl.crypto_sign_ed25519ph_final_verify(state, signature, raw))
    except (BadSignatureError, CryptoError, ValueError, TypeError):
        return False


class KeySigner:
    """A :class:`~konflux_supply.signing.Signer` over an in-memory private key (cosign rules)."""

    def __init__(self, private_key: PrivateKey, *, ed25519ph: bool = True) -> None:
        check_key(private_key)
        self._key = private_key
        self._public = private_key.public_key()
        self._pem = public_key_pem(self._public)
        self._ph = (
            Ed25519phKey(private_key)
            if (ed25519ph and isinstance(private_key, ed25519.Ed25519PrivateKey))
            else None
        )
        self.algorithm = algorithm_name(private_key)
        if isinstance(private_key, ed25519.Ed25519PrivateKey) and not ed25519ph:
            self.algorithm = "ed25519"
        if isinstance(private_key, ec.EllipticCurvePrivateKey):
            self._ecdsa = ec.ECDSA(_CURVES[private_key.curve.name][1]())

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with the key's own hash; ECDSA signatures are ASN.1 DER."""
        key = self._key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, self._ecdsa)
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if self._ph is not None:
            return self._ph.sign(data)
        return key.sign(data)

    def public_key(self) -> PublicKey:
        """The public half, as a ``cryptography`` object."""
        return self._public

    def public_key_pem(self) -> bytes:
        """PKIX PEM of the public key."""
        return self._pem

    def __repr__(self) -> str:
        return f"KeySigner({self.algorithm})"


class KeyVerifier:
    """A :class:`~konflux_supply.signing.Verifier` over a public key (see the module doc)."""

    def __init__(self, public_key: PublicKey, *, source: str | None = None) -> None:
        check_key(public_key, source=source)
        self._key = public_key
        self._pem = public_key_pem(public_key)
        self.algorithm = algorithm_name(public_key)
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            primary = _CURVES[public_key.curve.name][1]
            self._ecdsa = [ec.ECDSA(primary())]
            if primary is not hashes.SHA256:
                self._ecdsa.append(ec.ECDSA(hashes.SHA256()))

    def check(self, signature: bytes, data: bytes) -> bool:
        """True if the signature verifies under any accepted scheme (no exception)."""
        key = self._key
        if not signature:
            return False
        if isinstance(key, ec.EllipticCurvePublicKey):
            for algorithm in self._ecdsa:
                try:
                    key.verify(signature, data, algorithm)
                    return True
                except (InvalidSignature, ValueError):
                    continue
            return False
        if isinstance(key, rsa.RSAPublicKey):
            if len(signature) != (key.key_size + 7) // 8:
                return False
            for hash_type in _RSA_HASHES:
                for pad in (
                    padding.PKCS1v15(),
                    padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.AUTO),
                ):
                    try:
                        key.verify(signature, data, pad, hash_type())
                        return True
                    except (InvalidSignature, ValueError):
                        continue
            return False
        if ed25519ph_verify(key, signature, data):
            return True
        try:
            key.verify(signature, data)
            return True
        except (InvalidSignature, ValueError):
            return False

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise :class:`VerificationError` unless ``signature`` is valid for ``data``."""
        if not self.check(signature, data):
            raise VerificationError(
                f"invalid signature: it does not verify with the {self.algorithm} key "
                f"{ssh_fingerprint(self._key)}"
            )

    def public_key(self) -> PublicKey:
        """The key, as a ``cryptography`` object."""
        return self._key

    def public_key_pem(self) -> bytes:
        """PKIX PEM of the key."""
        return self._pem

    def __repr__(self) -> str:
        return f"KeyVerifier({self.algorithm}, {ssh_fingerprint(self._key)})"
