"""Run moto_server with AWS KMS ``MessageType=DIGEST`` implemented (test helper).

moto 5.x ignores ``MessageType`` and always hashes ``Message`` again, so a DIGEST-mode signature
is a signature over ``sha256(digest)`` (reference/ecosystem.md §7b). Real AWS KMS signs the
digest as given and rejects a digest of the wrong length. This launcher patches moto's KMS
``Sign``/``Verify`` to do what AWS documents, then starts the normal moto server::

    python _moto_digest.py -H 127.0.0.1 -p PORT

The library is never told about moto: it always sends DIGEST, as cosign does against AWS.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.kms import responses
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException

_mode = threading.local()


def _digest_mode() -> bool:
    return getattr(_mode, "digest", False)


def _wrap_response(name: str) -> None:
    original = getattr(responses.KmsResponse, name)

    def wrapped(self: Any) -> Any:
        _mode.digest = self._get_param("MessageType") == "DIGEST"
        try:
            return original(self)
        finally:
            _mode.digest = False

    setattr(responses.KmsResponse, name, wrapped)


def _prehashed(message: bytes, hash_algorithm: Any) -> Any:
    if len(message) != hash_algorithm.digest_size:
        raise ValidationException(
            "Digest is invalid length for algorithm " + hash_algorithm.name.upper()
        )
    return utils.Prehashed(hash_algorithm)


def _patch_keys() -> None:
    ecdsa_sign = kms_utils.ECDSAPrivateKey.sign
    ecdsa_verify = kms_utils.ECDSAPrivateKey.verify
    rsa_sign = kms_utils.RSAPrivateKey.sign
    rsa_verify = kms_utils.RSAPrivateKey.verify
    ecdsa_hash = kms_utils.ECDSAPrivateKey._ECDSAPrivateKey__hash_algorithm  # type: ignore[attr-defined]
    rsa_pad = kms_utils.RSAPrivateKey._RSAPrivateKey__padding_and_hash_algorithm  # type: ignore[attr-defined]

    def ec_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _digest_mode():
            return ecdsa_sign(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        algorithm = _prehashed(message, ecdsa_hash(self, signing_algorithm))
        return self.private_key.sign(message, ec.ECDSA(algorithm))  # type: ignore[no-any-return]

    def ec_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
        if not _digest_mode():
            return ecdsa_verify(self, message, signature, signing_algorithm)
        algorithm = _prehashed(message, ecdsa_hash(self, signing_algorithm))
        try:
            self.private_key.public_key().verify(signature, message, ec.ECDSA(algorithm))
            return True
        except InvalidSignature:
            return False

    def r_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not _digest_mode():
            return rsa_sign(self, message, signing_algorithm)
        pad, algorithm = rsa_pad(self, signing_algorithm)
        return self.private_key.sign(message, pad, _prehashed(message, algorithm))  # type: ignore[no-any-return]

    def r_verify(self: Any, message: bytes, signature: bytes, signing_algorithm: str) -> bool:
        if not _digest_mode():
            return rsa_verify(self, message, signature, signing_algorithm)
        pad, algorithm = rsa_pad(self, signing_algorithm)
        try:
            self.private_key.public_key().verify(
                signature, message, pad, _prehashed(message, algorithm)
            )
            return True
        except InvalidSignature:
            return False

    kms_utils.ECDSAPrivateKey.sign = ec_sign  # type: ignore[method-assign]
    kms_utils.ECDSAPrivateKey.verify = ec_verify  # type: ignore[method-assign]
    kms_utils.RSAPrivateKey.sign = r_sign  # type: ignore[method-assign]
    kms_utils.RSAPrivateKey.verify = r_verify  # type: ignore[method-assign]


def main() -> None:
    _wrap_response("sign")
    _wrap_response("verify")
    _patch_keys()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
