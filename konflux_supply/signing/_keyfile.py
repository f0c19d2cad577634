"""cosign key files: the encrypted private key format, import rules, atomic writing.

Format (go-securesystemslib ``encrypted``, cosign ``pkg/cosign/keys.go``): a PEM block labelled
``ENCRYPTED SIGSTORE PRIVATE KEY`` (or the cosign v1 label ``ENCRYPTED COSIGN PRIVATE KEY``)
whose body is compact JSON::

    {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64>"},
     "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},"ciphertext":"<b64>"}

``key = scrypt(password, salt, N, r, p, 32)``; ``ciphertext = secretbox(PKCS#8 DER, nonce, key)``.
Only the three scrypt parameter sets cosign accepts are decrypted (an anti-DoS rule), and the
plaintext must be PKCS#8 (cosign's ``x509.ParsePKCS8PrivateKey``): SEC1 inside is rejected.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import secrets as _random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.signing._keys import PrivateKey, check_key
from konflux_supply.signing._pem import PemBlock, decode_pem, encode_pem

SIGSTORE_LABEL = "ENCRYPTED SIGSTORE PRIVATE KEY"
COSIGN_LABEL = "ENCRYPTED COSIGN PRIVATE KEY"
ENCRYPTED_LABELS = (SIGSTORE_LABEL, COSIGN_LABEL)
MAX_KEY_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost parameters; only :data:`ACCEPTED_SCRYPT` are ever used or accepted."""

    n: int
    r: int
    p: int


LEGACY = ScryptParams(32768, 8, 1)
STANDARD = ScryptParams(65536, 8, 1)
OWASP = ScryptParams(131072, 8, 1)
ACCEPTED_SCRYPT = (LEGACY, STANDARD, OWASP)


def _b64field(value: Any, field: str, *, source: str | None) -> bytes:
    if not isinstance(value, str):
        raise InputError("expected a base64 string", field=field, source=source)
    try:
        return base64.b64decode(value.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("not valid standard base64", field=field, source=source) from None


def _object(value: Any, field: str, *, source: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError("expected a JSON object", field=field, source=source)
    return value


def _int(value: Any, field: str, *, source: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError("expected an integer", field=field, source=source)
    return value


@dataclass(frozen=True)
class EncryptedKey:
    """The parsed (still encrypted) JSON body of a cosign key file."""

    params: ScryptParams
    salt: bytes
    nonce: bytes
    ciphertext: bytes

    @classmethod
    def parse(cls, body: bytes, *, source: str | None = None) -> EncryptedKey:
        """Parse and check the JSON body; no key derivation happens here."""
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InputError("encrypted key body is not JSON", source=source) from None
        doc = _object(doc, "(encrypted key)", source=source)
        kdf = _object(doc.get("kdf"), "kdf", source=source)
        cipher = _object(doc.get("cipher"), "cipher", source=source)
        if kdf.get("name") != "scrypt":
            raise InputError(
                f"encrypted: unknown kdf name {kdf.get('name')!r}", field="kdf.name", source=source
            )
        if cipher.get("name") != "nacl/secretbox":
            raise InputError(
                f"encrypted: unknown cipher name {cipher.get('name')!r}",
                field="cipher.name",
                source=source,
            )
        raw = _object(kdf.get("params"), "kdf.params", source=source)
        params = ScryptParams(
            _int(raw.get("N"), "kdf.params.N", source=source),
            _int(raw.get("r"), "kdf.params.r", source=source),
            _int(raw.get("p"), "kdf.params.p", source=source),
        )
        if params not in ACCEPTED_SCRYPT:
            raise InputError(
                f"unsupported scrypt parameters N={params.n} r={params.r} p={params.p} "
                "(cosign accepts N=32768, 65536 or 131072 with r=8 p=1)",
                field="kdf.params",
                source=source,
            )
        salt = _b64field(kdf.get("salt"), "kdf.salt", source=source)
        nonce = _b64field(cipher.get("nonce"), "cipher.nonce", source=source)
        if len(nonce) != SecretBox.NONCE_SIZE:
            raise InputError("encrypted: incorrect nonce size", field="cipher.nonce", source=source)
        ciphertext = _b64field(doc.get("ciphertext"), "ciphertext", source=source)
        if len(ciphertext) < SecretBox.MACBYTES:
            raise InputError("ciphertext is too short", field="ciphertext", source=source)
        return cls(params, salt, nonce, ciphertext)

    def to_json(self) -> bytes:
        """The compact JSON go-securesystemslib writes (Go struct field order)."""
        doc = {
            "kdf": {
                "name": "scrypt",
                "params": {"N": self.params.n, "r": self.params.r, "p": self.params.p},
                "salt": base64.b64encode(self.salt).decode("ascii"),
            },
            "cipher": {
                "name": "nacl/secretbox",
                "nonce": base64.b64encode(self.nonce).decode("ascii"),
            },
            "ciphertext": base64.b64encode(self.ciphertext).decode("ascii"),
        }
        return dumps_go(doc)


def _kdf(password: bytes, salt: bytes, params: ScryptParams) -> bytes:
    maxmem = 128 * params.r * params.n * 2 + (1 << 20)
    return hashlib.scrypt(
        password, salt=salt, n=params.n, r=params.r, p=params.p, maxmem=maxmem, dklen=32
    )


def encrypt(plaintext: bytes, password: bytes, *, params: ScryptParams = STANDARD) -> bytes:
    """Encrypt bytes into the JSON body of a cosign key file (fresh salt and nonce)."""
    if params not in ACCEPTED_SCRYPT:
        raise InputError(f"unsupported scrypt parameters {params}")
    salt = _random.token_bytes(32)
    nonce = _random.token_bytes(SecretBox.NONCE_SIZE)
    box = SecretBox(_kdf(password, salt, params))
    sealed = box.encrypt(plaintext, nonce).ciphertext
    return EncryptedKey(params, salt, nonce, sealed).to_json()


def decrypt(body: bytes, password: bytes, *, source: str | None = None) -> bytes:
    """Decrypt the JSON body of a cosign key file; a wrong password is an :class:`InputError`."""
    parsed = EncryptedKey.parse(body, source=source)
    box = SecretBox(_kdf(password, parsed.salt, parsed.params))
    try:
        return bytes(box.decrypt(parsed.ciphertext, parsed.nonce))
    except CryptoError:
        raise InputError(
            "decrypt: encrypted: decryption failed (wrong password, or the key file is corrupted)",
            source=source,
            hint="check the password (COSIGN_PASSWORD for the CLI; an empty value is a password "
            "too)",
        ) from None


# -- DER shape checks (which container a private key is in) ----------------------------------


def _tlv(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, value start, value end) of the DER element at ``offset``; ValueError if malformed."""
    if offset + 2 > len(data):
        raise ValueError("truncated")
    tag = data[offset]
    length = data[offset + 1]
    pos = offset + 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated")
    return tag, pos, pos + length


def private_key_container(der: bytes) -> str | None:
    """``pkcs1``, ``sec1`` or ``pkcs8`` by the DER shape of a private key, else ``None``."""
    try:
        tag, start, end = _tlv(der, 0)
        if tag != 0x30 or end != len(der):
            return None
        tag, _, version_end = _tlv(der, start)
        if tag != 0x02:
            return None
        second, _, _ = _tlv(der, version_end)
    except ValueError:
        return None
    return {0x02: "pkcs1", 0x04: "sec1", 0x30: "pkcs8"}.get(second)


def _load_der(der: bytes) -> Any:
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None


def load_pkcs8(der: bytes, *, source: str | None = None) -> PrivateKey:
    """Load a PKCS#8 private key the way cosign's ``LoadPrivateKey`` does (PKCS#8 only)."""
    if private_key_container(der) != "pkcs8":
        shape = private_key_container(der)
        hint = (
            " (it is SEC1; use ParseECPrivateKey instead for this key format)"
            if (shape == "sec1")
            else ""
        )
        raise InputError(f"parsing private key: not a PKCS#8 private key{hint}", source=source)
    key = _load_der(der)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise InputError(
            "parsing private key: unsupported PKCS#8 key type "
            f"{type(key).__name__ if key is not None else '(unparseable)'}",
            source=source,
        )
    check_key(key, source=source)
    return key


def decrypt_private_key(pem: bytes, password: bytes, *, source: str | None = None) -> PrivateKey:
    """Decrypt a cosign key file (either PEM label) into a private key."""
    block = decode_pem(pem, source=source)
    if block.type not in ENCRYPTED_LABELS:
        raise InputError(f"unsupported pem type: {block.type}", source=source)
    return load_pkcs8(decrypt(block.der, password, source=source), source=source)


def encrypt_private_key(
    key: PrivateKey,
    password: bytes,
    *,
    params: ScryptParams = STANDARD,
    label: str = SIGSTORE_LABEL,
) -> bytes:
    """Write a private key as a cosign key file (PKCS#8 inside, ``ENCRYPTED SIGSTORE`` label)."""
    check_key(key)
    if label not in ENCRYPTED_LABELS:
        raise InputError(f"unsupported pem type: {label}")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return encode_pem(label, encrypt(der, password, params=params))


_IMPORT_RULES = {
    "RSA PRIVATE KEY": ("pkcs1", rsa.RSAPrivateKey, "error parsing rsa private key"),
    "EC PRIVATE KEY": ("sec1", ec.EllipticCurvePrivateKey, "error parsing ecdsa private key"),
    "PRIVATE KEY": ("pkcs8", None, "error parsing pkcs #8 private key"),
}


def parse_unencrypted_private_key(block: PemBlock, *, source: str | None = None) -> PrivateKey:
    """Apply ``cosign import-key-pair``'s rules to one unencrypted PEM block."""
    rule = _IMPORT_RULES.get(block.type)
    if rule is None:
        hint = None
        if block.type == "ENCRYPTED PRIVATE KEY":
            hint = "decrypt it first, e.g. openssl pkey -in KEY -out plain.pem"
        raise InputError(
            f"unsupported private key: PEM type {block.type}", source=source, hint=hint
        )
    container, expected, message = rule
    if "ENCRYPTED" in block.headers.get("Proc-Type", ""):
        raise InputError(
            f"{message}: the PEM block is encrypted (Proc-Type: 4,ENCRYPTED)",
            source=source,
            hint="decrypt it first, e.g. openssl pkey -in KEY -out plain.pem",
        )
    if private_key_container(block.der) != container:
        raise InputError(message, source=source)
    key = _load_der(block.der)
    if key is None:
        raise InputError(message, source=source)
    if expected is not None and not isinstance(key, expected):
        raise InputError(message, source=source)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in (
        "secp224r1",
        "secp256r1",
        "secp384r1",
        "secp521r1",
    ):
        # Go's x509 parser knows only the NIST curves: anything else fails to parse.
        raise InputError(f"{message}: unsupported curve {key.curve.name}", source=source)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    ):
        # Go parses X25519 PKCS#8 keys (then cosign says "unexpected private key"); it cannot
        # parse Ed448, DSA or DH keys at all.
        if isinstance(key, x25519.X25519PrivateKey):
            raise InputError("unexpected private key: X25519 cannot sign", source=source)
        raise InputError(f"{message}: unsupported key type {type(key).__name__}", source=source)
    check_key(key, source=source)
    return key


def import_private_key(pem: bytes, *, source: str | None = None) -> PrivateKey:
    """Parse an unencrypted PEM private key exactly as ``cosign import-key-pair`` accepts it."""
    return parse_unencrypted_private_key(decode_pem(pem, source=source), source=source)


# -- writing ----------------------------------------------------------------------------------


def _write_temp(directory: Path, name: str, data: bytes, mode: int) -> Path:
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return Path(temp)


def write_files_atomically(
    files: list[tuple[Path, bytes, int]], *, overwrite: bool = False
) -> list[Path]:
    """Write several files so that either all appear complete or none changes.

    Each file goes to a temporary file in its directory (mode set before any byte is written),
    then all are renamed into place. Existing files are refused unless ``overwrite``.
    """
    for path, _, _ in files:
        if path.is_dir():
            raise InputError("a directory is in the way of the file", source=str(path))
        if path.exists() and not overwrite:
            raise InputError(
                "file already exists", source=str(path), hint="remove it or pass --yes to overwrite"
            )
        if not path.parent.is_dir():
            raise InputError("directory does not exist", source=str(path.parent))
    temps: list[Path] = []
    placed: list[Path] = []
    current = files[0][0] if files else None
    try:
        for path, data, mode in files:
            current = path
            temps.append(_write_temp(path.parent, path.name, data, mode))
        for (path, _, _), temp in zip(files, temps, strict=True):
            current = path
            os.replace(temp, path)
            placed.append(path)
    except BaseException as error:  # also ^C: no temporary file, no half of a pair left
        for temp in temps:
            with contextlib.suppress(OSError):
                temp.unlink()
        if not overwrite:
            for path in placed:
                with contextlib.suppress(OSError):
                    path.unlink()
        if not isinstance(error, OSError):
            raise
        raise InputError(
            f"cannot write key files: {error.strerror or error}",
            source=str(current) if current else None,
        ) from None
    return [path for path, _, _ in files]
