"""Blob signatures in Sigstore bundles (v0.3) and blob attestations, both ways, real cosign.

(Detached blob signatures by key type are in ``test_keys.py``.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.interop._helpers import EMPTY_TRUSTED_ROOT, Cosign, Result, ok

pytestmark = [pytest.mark.interop, pytest.mark.integration]

V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture
def material(ours: Callable[..., Result], tmp_path: Path) -> dict[str, Path]:
    ok(ours("generate-key-pair", "-o", str(tmp_path / "key")), "generate-key-pair")
    blob = tmp_path / "release.tar.gz"
    blob.write_bytes(b"\x1f\x8b pretend this is a release tarball\n")
    root = tmp_path / "trusted_root.json"
    root.write_text(json.dumps(EMPTY_TRUSTED_ROOT))
    return {"key": tmp_path / "key.key", "pub": tmp_path / "key.pub", "blob": blob, "root": root}


def cosign_read_bundle_flags(cosign: Cosign, root: Path) -> list[str]:
    flags = ["--insecure-ignore-tlog"]
    if not cosign.v3:
        flags += ["--new-bundle-format", "--trusted-root", str(root)]
    return flags


def test_v03_bundles_both_ways(
    cosign: Cosign, ours: Callable[..., Result], material: dict[str, Path], tmp_path: Path
) -> None:
    key, pub, blob = str(material["key"]), str(material["pub"]), str(material["blob"])
    mine, theirs = tmp_path / "ours.sigstore.json", tmp_path / "theirs.sigstore.json"
    ok(ours("sign-blob", "--key", key, "--bundle", str(mine), blob), "sign-blob")
    cosign.run(
        "sign-blob", "--key", key, *cosign.write_flags(bundle=True), "--bundle", str(theirs), blob
    )
    assert json.loads(theirs.read_text())["mediaType"] == V03
    assert json.loads(mine.read_text())["mediaType"] == V03

    read = cosign_read_bundle_flags(cosign, material["root"])
    cosign.run("verify-blob", "--key", pub, *read, "--bundle", str(mine), blob)
    ok(ours("verify-bundle", "--bundle", str(theirs), "--key", pub, "--insecure-ignore-tlog", blob))

    # the same bundles over another file: both refuse
    other = tmp_path / "other"
    other.write_bytes(b"something else")
    no = cosign.run(
        "verify-blob", "--key", pub, *read, "--bundle", str(mine), str(other), check=False
    )
    assert no.returncode != 0
    refused = ours(
        "verify-bundle", "--bundle", str(theirs), "--key", pub, "--insecure-ignore-tlog", str(other)
    )
    assert refused.code == 1


def test_blob_attestations_both_ways(
    cosign: Cosign, ours: Callable[..., Result], material: dict[str, Path], tmp_path: Path
) -> None:
    key, pub, blob = str(material["key"]), str(material["pub"]), str(material["blob"])
    predicate = tmp_path / "predicate.json"
    predicate.write_text(json.dumps({"reviewed": True}))
    mine, theirs = tmp_path / "ours.intoto.jsonl", tmp_path / "theirs.intoto.jsonl"
    ok(
        ours(
            "attest-blob", "--key", key, "--predicate", str(predicate), "--type", "custom",
            "--output-signature", str(mine), blob,
        ),
        "attest-blob",
    )  # fmt: skip
    cosign.run(
        "attest-blob", "--key", key, "--predicate", str(predicate), "--type", "custom",
        *cosign.write_flags(), "--output-signature", str(theirs), blob,
    )  # fmt: skip
    cosign.run(
        "verify-blob-attestation", "--key", pub, "--type", "custom", "--insecure-ignore-tlog",
        "--signature", str(mine), blob,
    )  # fmt: skip
    ok(
        ours(
            "verify-blob-attestation", "--key", pub, "--type", "custom", "--signature",
            str(theirs), blob,
        ),
        "verify-blob-attestation",
    )  # fmt: skip


def test_cosign_older_blob_bundles_are_read(
    cosign: Cosign, ours: Callable[..., Result], material: dict[str, Path], tmp_path: Path
) -> None:
    """``sign-blob --bundle`` without the new format: ``base64Signature`` (and ``cert``)."""
    key, pub, blob = str(material["key"]), str(material["pub"]), str(material["blob"])
    bundle = tmp_path / "cosign.bundle"
    cosign.run("sign-blob", "--key", key, *cosign.write_flags(), "--bundle", str(bundle), blob)
    doc = json.loads(bundle.read_text())
    assert "base64Signature" in doc
    assert "mediaType" not in doc
    if cosign.v3:  # 3.x also writes the public key, base64 PEM, as "cert"
        assert base64.b64decode(doc["cert"]) == material["pub"].read_bytes()

    no_tlog = "--insecure-ignore-tlog"
    ok(ours("verify-bundle", "--bundle", str(bundle), "--key", pub, no_tlog, blob))
    ok(ours("verify-blob", "--key", pub, "--bundle", str(bundle), no_tlog, blob))
    cosign.run("verify-blob", "--key", pub, no_tlog, "--bundle", str(bundle), blob)

    other = tmp_path / "other"
    other.write_bytes(b"not the signed file")
    assert ours("verify-blob", "--key", pub, "--bundle", str(bundle), no_tlog, str(other)).code == 1
    assert (
        ours("verify-bundle", "--bundle", str(bundle), "--key", pub, no_tlog, str(other)).code == 1
    )
    # never logged: without --insecure-ignore-tlog there is nothing to check the log with
    refused = ours("verify-blob", "--key", pub, "--bundle", str(bundle), blob)
    assert refused.code == 2
    assert "--trusted-root" in refused.err
    # another key: refused (and a "cert" naming another key is refused even with the right sig)
    ok(ours("generate-key-pair", "-o", str(tmp_path / "other-key")), "generate-key-pair")
    wrong = ours(
        "verify-bundle", "--bundle", str(bundle), "--key", str(tmp_path / "other-key.pub"),
        no_tlog, blob,
    )  # fmt: skip
    assert wrong.code == 1
