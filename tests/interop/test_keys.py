"""Key files and signatures by key type, both directions, with the real cosign 2.5 and 3.1.

What the two cosign versions do differently (checked here, both directions):

* P-384: cosign 2.5 signs with SHA-256, 3.1 with SHA-384 (as we do); both verify with SHA-256
  unless told ``--signature-digest-algorithm sha384`` (``verify``; ``verify-blob`` has no such
  flag, so no cosign verifies a SHA-384 P-384 blob signature, its own included).
* Ed25519: cosign 2.5 signs and verifies pure Ed25519; 3.1 signs images with Ed25519ph but
  verifies pure Ed25519 (it refuses its own). We write pure Ed25519 for image and blob
  signatures, so both accept ours; we read both forms.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.integration.conftest import RegistryService
from tests.interop._helpers import COSIGN_REGISTRY, OURS_REGISTRY, OURS_WRITE, Cosign, Result, ok

pytestmark = [pytest.mark.interop, pytest.mark.integration]

KEY_TYPES = ("ec-p256", "ec-p384", "rsa-3072", "ed25519")
#: cosign 2.5.0's import-key-pair refuses RSA and ECDSA keys (its bug; Ed25519 works).
COSIGN_25_IMPORT_BUG = "unsupported public key type"
SIGNING_KEY_TYPES = KEY_TYPES


def private_pem(kind: str) -> bytes:
    """An unencrypted private key in the PEM form people usually have for ``kind``."""
    if kind == "ec-p256":
        key: object = ec.generate_private_key(ec.SECP256R1())
        form = serialization.PrivateFormat.TraditionalOpenSSL  # SEC1 "EC PRIVATE KEY"
    elif kind == "ec-p384":
        key = ec.generate_private_key(ec.SECP384R1())
        form = serialization.PrivateFormat.PKCS8
    elif kind == "rsa-3072":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        form = serialization.PrivateFormat.TraditionalOpenSSL  # PKCS#1 "RSA PRIVATE KEY"
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        form = serialization.PrivateFormat.PKCS8
    assert isinstance(
        key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    )
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())


def import_ours(ours: Callable[..., Result], tmp_path: Path, kind: str) -> tuple[Path, Path]:
    pem = tmp_path / f"{kind}.pem"
    pem.write_bytes(private_pem(kind))
    prefix = tmp_path / f"ours-{kind}"
    ok(ours("import-key-pair", "--key", str(pem), "-o", str(prefix), "-y"), "import-key-pair")
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


def cosign_verify_flags(cosign: Cosign, kind: str) -> list[str]:
    flags = [*cosign.verify_flags(), *COSIGN_REGISTRY]
    if kind == "ec-p384":
        flags += ["--signature-digest-algorithm", "sha384"]
    return flags


def test_generated_key_pairs_are_read_by_the_other_side(
    cosign: Cosign, ours: Callable[..., Result], tmp_path: Path
) -> None:
    ok(ours("generate-key-pair", "-o", str(tmp_path / "ours")), "generate-key-pair")
    exported = cosign.run("public-key", "--key", str(tmp_path / "ours.key")).stdout
    assert exported == (tmp_path / "ours.pub").read_text()

    cosign.run("generate-key-pair", "--output-key-prefix", str(tmp_path / "theirs"))
    mine = ok(ours("public-key", "--key", str(tmp_path / "theirs.key")), "public-key")
    assert mine.out == (tmp_path / "theirs.pub").read_text()


@pytest.mark.parametrize("kind", KEY_TYPES)
def test_imported_key_files_are_read_by_the_other_side(
    cosign: Cosign, ours: Callable[..., Result], tmp_path: Path, kind: str
) -> None:
    key, pub = import_ours(ours, tmp_path, kind)
    assert cosign.run("public-key", "--key", str(key)).stdout == pub.read_text()

    pem = tmp_path / f"{kind}.pem"
    prefix = tmp_path / f"cosign-{kind}"
    done = cosign.run(
        "import-key-pair", "--key", str(pem), "--output-key-prefix", str(prefix), check=False
    )
    if done.returncode != 0:
        assert cosign.version == "2.5", done.stderr
        assert kind != "ed25519", done.stderr
        assert COSIGN_25_IMPORT_BUG in done.stderr
        return
    mine = ok(ours("public-key", "--key", f"{prefix}.key"), "public-key")
    assert mine.out == Path(f"{prefix}.pub").read_text()
    assert mine.out == pub.read_text()  # the same key, whoever imported it


@pytest.mark.parametrize("kind", SIGNING_KEY_TYPES)
def test_image_signatures_by_key_type(
    cosign: Cosign,
    ours: Callable[..., Result],
    registry: RegistryService,
    new_image: Callable[[RegistryService, str], str],
    tmp_path: Path,
    kind: str,
) -> None:
    key, pub = import_ours(ours, tmp_path, kind)
    signed_by_ours = new_image(registry, f"keys-{kind}-ours-{cosign.version}")
    signed_by_cosign = new_image(registry, f"keys-{kind}-cosign-{cosign.version}")
    ok(ours("sign", "--key", str(key), *OURS_WRITE, signed_by_ours), "sign")
    cosign.run("sign", "--key", str(key), *cosign.write_flags(), *COSIGN_REGISTRY, signed_by_cosign)

    # ours accepts every signature cosign makes, and cosign every one of ours
    ok(ours("verify", "--key", str(pub), *OURS_REGISTRY, signed_by_cosign), "verify")
    flags = cosign_verify_flags(cosign, kind)
    cosign.run("verify", "--key", str(pub), *flags, signed_by_ours)


@pytest.mark.parametrize("kind", SIGNING_KEY_TYPES)
def test_blob_signatures_by_key_type(
    cosign: Cosign, ours: Callable[..., Result], tmp_path: Path, kind: str
) -> None:
    key, pub = import_ours(ours, tmp_path, kind)
    blob = tmp_path / "artifact.bin"
    blob.write_bytes(b"a build output\n")
    theirs, mine = tmp_path / "theirs.sig", tmp_path / "ours.sig"
    cosign.run(
        "sign-blob", "--key", str(key), *cosign.write_flags(), "--output-signature", str(theirs),
        str(blob),
    )  # fmt: skip
    ok(ours("sign-blob", "--key", str(key), "--output-signature", str(mine), str(blob)))

    ok(ours("verify-blob", "--key", str(pub), "--signature", str(theirs), str(blob)))
    on_ours = cosign.run(
        "verify-blob", "--key", str(pub), *cosign.verify_flags(), "--signature", str(mine),
        str(blob), check=False,
    )  # fmt: skip
    if kind == "ec-p384":
        # cosign verify-blob hashes with SHA-256 whatever the curve and has no flag to change
        # it: it refuses SHA-384 P-384 signatures (ours, and cosign 3.1's own).
        assert "invalid signature" in on_ours.stderr
    else:
        assert on_ours.returncode == 0, on_ours.stderr
