"""Hostile inputs at the command line, as one table (issue 10).

Each row: the files it needs (made by the ``hostile`` fixture), the command, the exit code and a
pattern for the first stderr line. A wrong input must never look like success (exit 0) or like
"unsigned" (exit 1): it is exit 2 with one line naming what is wrong, no traceback, and nothing
written (every row also checks that the directory holds no new or changed file unless the row
says which ones it may write).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.cli import main
from konflux_supply.models.oci import OCI_MANIFEST
from konflux_supply.oci._layout import LayoutRegistry
from tests.unit.cli._helpers import push_image

ZERO = "sha256:" + "0" * 64


@dataclass(frozen=True)
class Case:
    """One hostile input: ``argv`` (``{image}``/``{digest}``/``{zero}`` filled in), the exit
    code, a pattern for stderr's first line, and files the command may write."""

    id: str
    argv: tuple[str, ...]
    exit: int
    first_line: str
    may_write: tuple[str, ...] = field(default=())
    stdin: str | None = None  # text for stdin; CLOSED for a closed stdin (``<&-``)
    env: tuple[tuple[str, str | None], ...] = ()  # variables set (None: removed)


CLOSED = "<closed>"


CASES = [
    # -- 1: by digest, the image must exist: nothing written, verify is no pass ----------------
    Case("sign-missing-digest", ("sign", "--key", "k.key", "oci:app@{zero}"), 2,
         r"invalid input: image: image not found: oci:app@sha256:0+$"),
    Case("sign-new-layout", ("sign", "--key", "k.key", "--sign-container-identity", "q.io/x/app",
                             "oci:newdir@{zero}"), 2,
         r"image not found: oci:newdir@.*no directory"),
    Case("attest-missing-digest", ("attest", "--key", "k.key", "--predicate", "predicate.json",
                                   "oci:app@{zero}"), 2, r"image not found"),
    Case("attach-sbom-missing-digest", ("attach", "sbom", "--sbom", "sbom.cdx.json",
                                        "oci:app@{zero}"), 2, r"image not found"),
    Case("verify-missing-digest", ("verify", "--key", "k.pub", "oci:app@{zero}"), 2,
         r"image not found"),
    Case("verify-attestation-missing-digest", ("verify-attestation", "--key", "k.pub",
                                               "oci:app@{zero}"), 2, r"image not found"),
    # -- 2: a path typo is not "unsigned" -----------------------------------------------------
    Case("verify-no-such-layout", ("verify", "--key", "k.pub", "oci:/nonexistent/dir@{zero}"), 2,
         r"image not found: .*no directory /nonexistent/dir"),
    Case("verify-attestation-no-such-layout", ("verify-attestation", "--key", "k.pub",
                                               "oci:/nonexistent/dir@{zero}"), 2,
         r"no directory /nonexistent/dir"),
    Case("download-sbom-no-such-layout", ("download", "sbom", "oci:/nonexistent/dir@{zero}"), 2,
         r"no directory /nonexistent/dir"),
    # -- 4: expected failures are not "internal error" ---------------------------------------
    Case("verify-blob-awskms-no-region", ("verify-blob", "--key", "awskms:///alias/x",
                                          "--signature", "MEUCIQ==", "blob.txt"), 2,
         r"invalid input: key: AWS KMS key alias/x needs a region",
         env=(("AWS_REGION", None), ("AWS_DEFAULT_REGION", None))),
    Case("sign-blob-stdin-closed", ("sign-blob", "--key", "k.key", "blob.txt"), 2,
         r"invalid input: no COSIGN_PASSWORD set and stdin is closed", stdin=CLOSED,
         env=(("COSIGN_PASSWORD", None),)),
    # -- 5: a run that has not run, NaN, duplicate keys --------------------------------------
    Case("provenance-no-status", ("provenance", "--format", "slsa/v1", "run-no-status.json"), 2,
         r"invalid input: run-no-status.json: status: the TaskRun has no status"),
    Case("provenance-nan", ("provenance", "--format", "slsa/v1", "run-nan.json"), 2,
         r"invalid JSON: NaN is not a JSON number"),
    Case("provenance-infinity-yaml", ("provenance", "--format", "in-toto", "run-inf.yaml"), 2,
         r"status.x: inf is not a JSON number"),
    Case("provenance-duplicate-key", ("provenance", "--format", "slsa/v1", "run-dup.json"), 2,
         r"the key 'kind' more than once"),
    # -- 9: library text in our words ---------------------------------------------------------
    Case("provenance-huge-integer", ("provenance", "--format", "slsa/v1", "run-huge-int.json"), 2,
         r"invalid JSON: a number has more than \d+ digits$"),
    Case("layout-traversal-digest", ("verify", "--key", "k.pub", "oci:traversal:v1"), 2,
         r"invalid input: traversal: manifests\[0\].digest: malformed index.json: "
         r"unsupported or malformed digest 'sha256:\.\./\.\./etc/passwd'$"),
    Case("layout-manifests-not-a-list", ("verify", "--key", "k.pub", "oci:notalist:v1"), 2,
         r"manifests: malformed index.json: 'manifests' is not a list$"),
    Case("layout-index-not-json", ("verify", "--key", "k.pub", "oci:notjson:v1"), 2,
         r"malformed index.json: Expecting"),
    # -- 10: rules said, and inputs that were accepted -----------------------------------------
    Case("layout-version-9", ("verify", "--key", "k.pub", "oci:version9:v1"), 2,
         r"oci-layout.imageLayoutVersion: unsupported imageLayoutVersion '9.9.9'"),
    Case("sbom-merge-serial-not-rfc4122", ("sbom", "merge", "--serial-number",
                                           "urn:uuid:6b1d0000-0000-0000-0000-000000000000",
                                           "sbom.cdx.json", "sbom.cdx.json"), 2,
         r"serialNumber: .* is not an RFC 4122 UUID URN: .*version V 1 to 5 and variant N"),
    Case("provenance-empty-builder-id", ("provenance", "--format", "slsa/v1", "--builder-id", "",
                                         "run.json"), 2, r"builder id must not be empty"),
    # -- the same pattern elsewhere: every reader of an image says "not found" ----------------
    Case("copy-no-such-source", ("copy", "oci:/nonexistent/dir@{zero}", "oci:newdir"), 2,
         r"image not found: .*no directory /nonexistent/dir"),
    Case("copy-missing-digest", ("copy", "oci:app@{zero}", "oci:newdir"), 2, r"image not found"),
    Case("sbom-generate-missing-digest", ("sbom", "generate", "oci:app@{zero}"), 2,
         r"image not found"),
    Case("verify-tag-no-such-layout", ("verify", "--key", "k.pub", "oci:/nonexistent/dir:v1"), 2,
         r"no directory /nonexistent/dir"),
    Case("download-sbom-missing-digest", ("download", "sbom", "oci:app@{zero}"), 2,
         r"image not found"),
    Case("verify-bad-timeout", ("verify", "--key", "k.pub", "--timeout", "soon", "{image}"), 2,
         r"^Usage: konflux-supply verify"),
    # -- already handled: keep them so ---------------------------------------------------------
    Case("sign-missing-tag", ("sign", "--key", "k.key", "oci:app:nope"), 2, r"image not found"),
    Case("verify-bad-reference", ("verify", "--key", "k.pub", "UPPER/Case::x"), 2,
         r"invalid input"),
    Case("verify-missing-key", ("verify", "--key", "missing.pub", "{image}"), 2,
         r"invalid input.*missing\.pub"),
    Case("verify-key-is-directory", ("verify", "--key", "a-directory", "{image}"), 2,
         r"invalid input.*a-directory"),
    Case("sign-blob-missing-file", ("sign-blob", "--key", "k.key", "missing.txt"), 2,
         r"missing\.txt"),
    Case("verify-blob-garbage-signature", ("verify-blob", "--key", "k.pub", "--signature",
                                           "garbage.json", "blob.txt"), 2, r"invalid input"),
    Case("attest-predicate-not-json", ("attest", "--key", "k.key", "--type", "slsaprovenance",
                                       "--predicate", "blob.txt", "{image}"), 2,
         r"invalid input"),
    Case("provenance-not-json", ("provenance", "--format", "slsa/v1", "garbage.json"), 2,
         r"invalid input"),
    Case("sbom-validate-not-json", ("sbom", "validate", "garbage.json"), 2, r"invalid input"),
    Case("import-key-pair-not-pem", ("import-key-pair", "--key", "blob.txt"), 2,
         r"invalid input"),
    Case("sbom-merge-spdx-input", ("sbom", "merge", "sbom.spdx.json", "sbom.cdx.json"), 2,
         r"invalid input.*sbom.spdx.json"),
    Case("provenance-yaml-alias-bomb", ("provenance", "--format", "in-toto", "bomb.yaml"), 2,
         r"invalid input: bomb.yaml: .*(too many nodes|alias)"),
    Case("attest-unknown-type", ("attest", "--key", "k.key", "--type", "nope", "--predicate",
                                 "predicate.json", "{image}"), 2, r"invalid predicate type 'nope'"),
    Case("verify-blob-wrong-signature-is-a-verdict", ("verify-blob", "--key", "k.pub",
                                                      "--signature", "MEUCIQ==", "blob.txt"), 1,
         r"verification failed"),
    Case("verify-attestation-unsigned-is-a-verdict", ("verify-attestation", "--key", "k.pub",
                                                      "{image}"), 1,
         r"verification failed: no attestations found"),
    Case("verify-unsigned-is-a-verdict", ("verify", "--key", "k.pub", "{image}"), 1,
         r"verification failed: no signatures found"),
]  # fmt: skip


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.endswith(".lock")
    }


@pytest.fixture
def hostile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_environment: None
) -> dict[str, str]:
    """A directory with a key pair (password ``pw``), an image in the layout ``app`` (tag
    ``v1``) and some bad files; returns the placeholders of the table."""
    monkeypatch.chdir(tmp_path)
    pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)
    signing.write_key_pair(pair, "k")
    image = push_image(LayoutRegistry(tmp_path / "app"), "app:v1")
    (tmp_path / "blob.txt").write_text("some payload\n")
    (tmp_path / "garbage.json").write_text("{not json")
    (tmp_path / "predicate.json").write_text('{"a": 1}')
    (tmp_path / "sbom.cdx.json").write_text(
        '{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": []}'
    )
    (tmp_path / "a-directory").mkdir()
    for name, index, layout in [
        ("traversal", json.dumps({"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "size": 1, "digest": "sha256:../../etc/passwd"}]}), None),
        ("notalist", '{"schemaVersion": 2, "manifests": "x"}', None),
        ("notjson", "{", None),
        ("version9", None, '{"imageLayoutVersion": "9.9.9"}'),
    ]:  # fmt: skip
        shutil.copytree(tmp_path / "app", tmp_path / name)
        if index is not None:
            (tmp_path / name / "index.json").write_text(index)
        if layout is not None:
            (tmp_path / name / "oci-layout").write_text(layout)
    (tmp_path / "sbom.spdx.json").write_text(
        '{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "x", '
        '"dataLicense": "CC0-1.0", "documentNamespace": "https://example.com/x", '
        '"creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: x"]}}'
    )
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [
        f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}, *a{n - 1}]" for n in range(1, 12)
    ]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")
    head = '"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "r"}'
    done = '"status": {"completionTime": "2024-01-01T00:00:00Z"}'
    (tmp_path / "run.json").write_text("{" + head + ", " + done + "}")
    (tmp_path / "run-no-status.json").write_text("{" + head + "}")
    (tmp_path / "run-nan.json").write_text("{" + head + ', "status": {"x": NaN}}')
    (tmp_path / "run-inf.yaml").write_text(
        "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nstatus: {x: .inf}\n"
    )
    (tmp_path / "run-dup.json").write_text("{" + head + ', "kind": "PipelineRun"}')
    (tmp_path / "run-huge-int.json").write_text(
        "{" + head + ', "status": {"x": ' + "9" * 5000 + "}}"
    )
    return {"image": f"oci:app@{image.digest}", "digest": image.digest or "", "zero": ZERO}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input(
    case: Case,
    hostile: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if case.stdin == CLOSED:
        monkeypatch.setattr("sys.stdin", None)
    elif case.stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(case.stdin))
    for name, value in case.env:
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    before = _snapshot(tmp_path)
    code = main([part.format(**hostile) for part in case.argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("WARNING")]
    assert code == case.exit, err
    assert lines, "no message on stderr"
    assert re.search(case.first_line, lines[0]), lines[0]
    assert "Traceback" not in err
    assert "internal error" not in err
    after = _snapshot(tmp_path)
    changed = {name for name in set(before) | set(after) if before.get(name) != after.get(name)}
    assert changed <= set(case.may_write), f"wrote {sorted(changed)}"
    assert not (tmp_path / "newdir").exists()


def test_re_signing_does_not_wait_the_settle_interval(
    hostile: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, item 8: a signature already present is not settled again."""
    from konflux_supply.oci import append

    waits: list[str] = []
    real = append._quiet

    def quiet(*args: object, **kwargs: object) -> bool:
        waits.append("settle")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(append, "_quiet", quiet)
    argv = ["sign", "--key", "k.key", "--settle", "0.2", "--sign-container-identity", "q.io/x/app"]
    argv.append(hostile["image"])
    assert main(argv) == 0
    assert waits == ["settle"]
    assert main(argv) == 0
    assert waits == ["settle"]  # nothing written the second time: nothing to settle
    capsys.readouterr()


def test_azure_credential_failure_is_one_line_in_our_words(
    hostile: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, item 9: not the SDK's log of every credential, then the same text again."""
    import logging

    identity = pytest.importorskip("azure.identity")
    chain = "DefaultAzureCredential failed to retrieve a token.\nAttempted credentials:\n\tA: no"

    class NoCredential:
        def get_token(self, *_scopes: str) -> object:
            logging.getLogger("azure.identity._credentials.chained").warning(chain)
            raise identity.CredentialUnavailableError(chain)

    monkeypatch.setattr(identity, "DefaultAzureCredential", NoCredential)
    code = main(["verify-blob", "--key", "azurekms://vault.vault.azure.net/key", "--signature",
                 "MEUCIQ==", "blob.txt"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3
    assert err.splitlines() == [
        "konflux-supply: backend unavailable: Azure Key Vault: no credentials "
        "(DefaultAzureCredential failed to retrieve a token)",
        "hint: set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or log in with "
        "`az login`",
    ]


def test_verify_finds_what_sign_wrote_in_either_referrers_mode(
    hostile: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 14: an oci-1-1 signature is not "unsigned" to a plain verify."""
    image = hostile["image"]
    mode = ["--registry-referrers-mode", "oci-1-1"]
    identity = ["--sign-container-identity", "q.io/x/app"]
    assert main(["sign", "--key", "k.key", *mode, *identity, image]) == 0
    assert main(["attest", "--key", "k.key", *mode, "--predicate", "predicate.json", image]) == 0
    capsys.readouterr()
    assert main(["verify", "--key", "k.pub", image]) == 0
    assert json.loads(capsys.readouterr().out)[0]["critical"]["identity"] == {
        "docker-reference": "q.io/x/app"
    }
    # attest writes a Sigstore bundle referrer in this mode (as cosign): it needs a log
    # choice, and a plain verify-attestation says so instead of "no attestations"
    assert main(["verify-attestation", "--key", "k.pub", image]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("hint: 1 Sigstore bundle referrer(s) of this image were not read")
    bundles = ["--new-bundle-format", "--insecure-ignore-tlog"]
    assert main(["verify-attestation", "--key", "k.pub", *bundles, image]) == 0


def test_an_unreadable_referrers_listing_does_not_hide_a_tag_signature() -> None:
    """Reading referrers by default must not turn a verified tag signature into exit 3; with
    nothing else verifying it is "no verdict", never "unsigned"."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from konflux_supply.errors import RegistryError
    from konflux_supply.oci import AppendPolicy, ThreadLocks
    from konflux_supply.publish import PublishOptions, sign_image
    from konflux_supply.verify import verify_signatures
    from tests.unit.oci.memory import MemoryRegistry

    class NoReferrers(MemoryRegistry):
        def referrers(self, *_args: object, **_kwargs: object) -> None:
            raise RegistryError("the referrers API answered 500")

    key = signing.signer_from_private_key(ec.generate_private_key(ec.SECP256R1()))
    pub = signing.verifier_from_pem(key.public_key_pem())
    registry = NoReferrers()
    image = push_image(registry, "registry.example/team/app:v1")
    with pytest.raises(RegistryError, match="could not verify signatures"):
        verify_signatures(registry, image, [pub])
    sign_image(registry, image, key, options=PublishOptions(policy=AppendPolicy(ThreadLocks())))
    assert len(verify_signatures(registry, image, [pub]).signatures) == 1


def test_an_attest_blob_statement_envelope_verifies_from_the_cli(
    hostile: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 10, item 15: --statement's envelope, against its subject or signature-only."""
    digest = hashlib.sha256((tmp_path / "blob.txt").read_bytes()).hexdigest()
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "blob.txt", "digest": {"sha256": digest}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {},
    }  # fmt: skip
    (tmp_path / "statement.json").write_text(json.dumps(statement))
    sign = ["attest-blob", "--key", "k.key", "--statement", "statement.json"]
    assert main([*sign, "--output-signature", "env.json"]) == 0
    verify = ["verify-blob-attestation", "--key", "k.pub", "--signature", "env.json"]
    slsa = ["--type", "slsaprovenance1"]
    assert main([*verify, *slsa, "blob.txt"]) == 0
    assert main([*verify, "--check-claims=false"]) == 0
    capsys.readouterr()
    # the statement itself is not what it is about: a verdict, with a hint saying so
    assert main([*verify, *slsa, "statement.json"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "no subject of the attestation has sha256" in err[0]
    assert err[1].startswith("hint: FILE must be the artifact the statement is about")
    # without FILE and without --check-claims=false: bad input, not a pass
    assert main(verify) == 2
    assert "the artifact FILE is required" in capsys.readouterr().err


def test_attest_blob_help_shows_file_as_optional(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attest-blob", "--help"]) == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage == "Usage: konflux-supply attest-blob [OPTIONS] [FILE]"
