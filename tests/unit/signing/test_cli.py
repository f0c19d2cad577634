"""The key and blob commands, run in-process through ``main([...])``."""

from __future__ import annotations

import base64
import io
import json
import stat
from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.cli import main

from . import _cosign_spec

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "signing"


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COSIGN_PASSWORD", "pw")
    monkeypatch.chdir(tmp_path)
    pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)
    signing.write_key_pair(pair, tmp_path / "cosign")
    (tmp_path / "blob").write_bytes(b"some-payload")
    (tmp_path / "other").write_bytes(b"another-blob")
    return tmp_path


def test_generate_key_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "")
    monkeypatch.chdir(tmp_path)
    assert main(["generate-key-pair"]) == 0
    err = capsys.readouterr().err
    assert "Private key written to cosign.key" in err
    assert "Public key written to cosign.pub" in err
    _cosign_spec.decode((tmp_path / "cosign.key").read_bytes(), b"")
    assert stat.S_IMODE((tmp_path / "cosign.key").stat().st_mode) == 0o600
    assert main(["generate-key-pair"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["generate-key-pair", "--output-key-prefix", "other", "-y"]) == 0
    assert (tmp_path / "other.pub").exists()


def test_password_from_stdin_is_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(b"line\n")

        @staticmethod
        def isatty() -> bool:
            return False

    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", Stdin())
    monkeypatch.chdir(tmp_path)
    assert main(["generate-key-pair"]) == 0
    _cosign_spec.decode((tmp_path / "cosign.key").read_bytes(), b"line\n")


def test_import_key_pair(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = FIXTURES / "import" / "ec-p384-sec1.pem"
    assert main(["import-key-pair", "--key", str(good)]) == 0
    assert (keys / "import-cosign.key").exists()
    bad = FIXTURES / "import" / "rsa1024-pkcs1.pem"
    assert main(["import-key-pair", "-k", str(bad), "-o", "x"]) == 2
    err = capsys.readouterr().err
    assert "key size not supported" in err
    assert not (keys / "x.key").exists()


def test_public_key(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["public-key", "--key", "cosign.key"]) == 0
    assert capsys.readouterr().out == (keys / "cosign.pub").read_text()
    assert main(["public-key", "--key", "cosign.key", "--outfile", "out.pub"]) == 0
    assert (keys / "out.pub").read_bytes() == (keys / "cosign.pub").read_bytes()


def test_sign_and_verify_blob(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign-blob", "--key", "cosign.key", "blob"]) == 0
    signature = capsys.readouterr().out.strip()
    base64.b64decode(signature, validate=True)
    (keys / "blob.sig").write_text(signature)
    for sig in (signature, "blob.sig"):
        assert main(["verify-blob", "--key", "cosign.pub", "--signature", sig, "blob"]) == 0
        assert "Verified OK" in capsys.readouterr().err
    assert main(["verify-blob", "--key", "cosign.pub", "--signature", signature, "other"]) == 1
    assert "invalid signature" in capsys.readouterr().err
    assert main(["verify-blob", "--key", "cosign.pub", "--signature", "%%%", "blob"]) == 2
    args = ["verify-blob", "--key", "cosign.pub", "--insecure-ignore-tlog=true"]
    assert main([*args, "--signature", signature, "blob"]) == 0
    assert "no transparency log" not in capsys.readouterr().err


def test_sign_blob_options(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign-blob", "--key", "cosign.key", "--tlog-upload=false", "-y", "blob"]) == 0
    capsys.readouterr()
    assert main(["sign-blob", "--key", "cosign.key", "--tlog-upload=true", "blob"]) == 2
    assert "transparency log" in capsys.readouterr().err
    assert main(["sign-blob", "--key", "cosign.key", "--tlog-upload=maybe", "blob"]) == 2
    assert main(["sign-blob", "-k", "cosign.key", "--output-signature", "s", "blob"]) == 0
    assert capsys.readouterr().out == ""
    raw = base64.b64decode((keys / "s").read_bytes())
    signing.load_verifier("cosign.pub").verify(raw, b"some-payload")
    args = ["sign-blob", "-k", "cosign.key", "--b64=false", "--output-signature", "raw"]
    assert main([*args, "blob"]) == 0
    signing.load_verifier("cosign.pub").verify((keys / "raw").read_bytes(), b"some-payload")


def test_wrong_password_and_missing_key(
    keys: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COSIGN_PASSWORD", "wrong")
    assert main(["sign-blob", "--key", "cosign.key", "blob"]) == 2
    err = capsys.readouterr().err
    assert "decryption failed" in err
    assert "Traceback" not in err
    assert main(["sign-blob", "--key", "nope.key", "blob"]) == 2
    assert main(["sign-blob", "--key", "awskmsx://nope", "blob"]) == 2


def test_attest_and_verify_blob_attestation(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (keys / "pred.json").write_text('{"buildType":"x","builder":{"id":"b"}}')
    args = ["attest-blob", "--key", "cosign.key", "--predicate", "pred.json"]
    assert main([*args, "--type", "slsaprovenance", "blob"]) == 0
    envelope = capsys.readouterr().out
    doc = json.loads(envelope)
    assert doc["payloadType"] == "application/vnd.in-toto+json"
    assert doc["signatures"][0]["keyid"] == ""
    statement = json.loads(base64.b64decode(doc["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v0.1"
    assert statement["subject"] == [
        {
            "name": "blob",
            "digest": {"sha256": signing.blob.hashlib.sha256(b"some-payload").hexdigest()},
        }
    ]
    assert statement["predicateType"] == "https://slsa.dev/provenance/v0.2"
    (keys / "env.json").write_text(envelope)
    verify = ["verify-blob-attestation", "--key", "cosign.pub", "--signature", "env.json"]
    assert main([*verify, "--type", "slsaprovenance", "blob"]) == 0
    assert "Verified OK" in capsys.readouterr().err
    assert main([*verify, "blob"]) == 1  # default --type custom
    assert "invalid predicate type" in capsys.readouterr().err
    assert main([*verify, "--type", "slsaprovenance", "other"]) == 1
    assert "no subject" in capsys.readouterr().err
    (keys / "env.b64").write_bytes(base64.b64encode(envelope.encode()))
    verify_b64 = ["verify-blob-attestation", "-k", "cosign.pub", "--signature", "env.b64"]
    assert main([*verify_b64, "--type", "slsaprovenance", "blob"]) == 0


def test_attest_blob_custom_and_statement(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (keys / "data.txt").write_text("hello")
    assert main(["attest-blob", "-k", "cosign.key", "--predicate", "data.txt", "blob"]) == 0
    doc = json.loads(capsys.readouterr().out)
    statement = json.loads(base64.b64decode(doc["payload"]))
    assert statement["predicateType"] == "https://cosign.sigstore.dev/attestation/v1"
    assert statement["predicate"]["Data"] == "hello"
    (keys / "st.json").write_text(json.dumps({**statement, "predicateType": "https://x.dev/t"}))
    assert main(["attest-blob", "-k", "cosign.key", "--statement", "st.json"]) == 0
    (keys / "env.json").write_text(capsys.readouterr().out)
    verify = ["verify-blob-attestation", "-k", "cosign.pub", "--signature", "env.json"]
    assert main([*verify, "--type", "https://x.dev/t", "blob"]) == 0
    assert main(["attest-blob", "-k", "cosign.key", "blob"]) == 2
    assert (
        main(
            ["attest-blob", "-k", "cosign.key", "--predicate", "data.txt", "--type", "x y", "blob"]
        )
        == 2
    )
    assert (
        main(
            [
                "attest-blob",
                "-k",
                "cosign.key",
                "--predicate",
                "data.txt",
                "--type",
                "cyclonedx",
                "blob",
            ]
        )
        == 2
    )


def test_verify_blob_attestation_bad_envelopes(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    verify = ["verify-blob-attestation", "-k", "cosign.pub", "--signature", "bad.json", "blob"]
    for content, code in [
        ("not json and not base64 !!", 2),
        ('{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}', 1),
        ('{"payloadType":"x","payload":"@@","signatures":[]}', 2),
    ]:
        (keys / "bad.json").write_text(content)
        assert main(verify) == code, content
        assert "Traceback" not in capsys.readouterr().err


def test_attest_blob_refuses_an_sbom_type_whose_predicate_is_not_that_sbom(
    keys: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As `attest` does: --type cyclonedx signs a CycloneDX document or nothing.
    (keys / "not-a-bom.json").write_text('{"hello": "world"}')
    args = ["attest-blob", "-k", "cosign.key", "--predicate", "not-a-bom.json", "--type"]
    assert main([*args, "cyclonedx", "--output-signature", "out.dsse", "blob"]) == 2
    assert "not-a-bom.json" in capsys.readouterr().err
    assert not (keys / "out.dsse").exists()
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}
    (keys / "bom.json").write_text(json.dumps(bom))
    args = ["attest-blob", "-k", "cosign.key", "--predicate", "bom.json", "--type", "cyclonedx"]
    assert main([*args, "blob"]) == 0
