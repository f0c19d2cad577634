"""An independent cosign key-file codec, written from reference/cosign.md §1 only.

It shares no code with ``konflux_supply.signing``: if the library and this codec agree, the
format is right (or both misread the same spec sentence, which the peer keys then catch).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from nacl.secret import SecretBox

ACCEPTED = {(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)}


def pem_body(pem: bytes) -> tuple[str, bytes]:
    lines = pem.decode("ascii").strip().splitlines()
    assert lines[0].startswith("-----BEGIN ")
    assert lines[0].endswith("-----")
    assert lines[-1] == lines[0].replace("BEGIN", "END")
    label = lines[0][len("-----BEGIN ") : -len("-----")]
    assert all(len(line) <= 64 for line in lines[1:-1]), "Go writes 64-column lines"
    return label, base64.b64decode("".join(lines[1:-1]))


def decode(pem: bytes, password: bytes) -> tuple[dict[str, object], bytes]:
    """(parsed JSON envelope, plaintext) of a cosign key file."""
    label, body = pem_body(pem)
    assert label in ("ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY")
    doc = json.loads(body)
    kdf, cipher = doc["kdf"], doc["cipher"]
    assert kdf["name"] == "scrypt"
    assert cipher["name"] == "nacl/secretbox"
    params = (kdf["params"]["N"], kdf["params"]["r"], kdf["params"]["p"])
    assert params in ACCEPTED
    key = hashlib.scrypt(
        password,
        salt=base64.b64decode(kdf["salt"]),
        n=params[0],
        r=params[1],
        p=params[2],
        dklen=32,
        maxmem=1 << 28,
    )
    ciphertext = base64.b64decode(doc["ciphertext"])
    plaintext = SecretBox(key).decrypt(ciphertext, base64.b64decode(cipher["nonce"]))
    assert len(ciphertext) == len(plaintext) + 16
    return doc, plaintext


def encode(plaintext: bytes, password: bytes, n: int = 65536) -> bytes:
    """A cosign key file (``ENCRYPTED SIGSTORE PRIVATE KEY``) around ``plaintext``."""
    salt, nonce = os.urandom(32), os.urandom(24)
    key = hashlib.scrypt(password, salt=salt, n=n, r=8, p=1, dklen=32, maxmem=1 << 28)
    ciphertext = SecretBox(key).encrypt(plaintext, nonce).ciphertext
    body = json.dumps(
        {
            "kdf": {
                "name": "scrypt",
                "params": {"N": n, "r": 8, "p": 1},
                "salt": base64.b64encode(salt).decode(),
            },
            "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
            "ciphertext": base64.b64encode(ciphertext).decode(),
        },
        separators=(",", ":"),
    ).encode()
    text = base64.b64encode(body).decode()
    lines = "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))
    return (
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
        + lines
        + "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
    ).encode()
