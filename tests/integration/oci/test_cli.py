"""The image commands end to end against the local registries (in-process ``main``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.cli import main
from konflux_supply.models.oci import OCI_CONFIG, OCI_MANIFEST
from konflux_supply.oci import Kind, open_registry, parse_reference, triangulate
from konflux_supply.oci.cosign import DSSE_ENVELOPE, SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from tests.integration.conftest import RegistryService, require_binary
from tests.integration.fault_proxy import FaultProxy
from tests.integration.oci.helpers import push_image

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("cli_environment")]

HTTP = ["--allow-http-registry"]
FAST = ["--settle", "0"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("cosign", "other"):
        pair = signing.generate_key_pair(b"pw", scrypt=signing.LEGACY_SCRYPT)
        key, pub = signing.write_key_pair(pair, directory / name)
        out[name], out[f"{name}.pub"] = str(key), str(pub)
    return out


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def image(registry: RegistryService, name: str) -> str:
    client, _ = open_registry(registry.ref(f"konflux/{name}:v1"), options=registry.options)
    return str(push_image(client, registry.ref(f"konflux/{name}:v1"), name.encode()))


def test_sign_verify_and_cosign_layout(
    registry: RegistryService, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref = image(registry, "cli-sign")
    pinned = parse_reference(ref)
    tag_ref = f"{pinned.name}:v1"
    code, _, err = run(
        capsys,
        "sign",
        "--key",
        keys["cosign"],
        *HTTP,
        *FAST,
        "-a",
        "env=prod",
        "--tlog-upload=false",
        tag_ref,
    )
    assert code == 0, err
    assert f"Pushing signature to: {triangulate(pinned, Kind.SIGNATURE)}" in err
    client, _ = open_registry(ref, options=registry.options)
    sig = client.get_manifest(pinned.repository, triangulate(pinned, Kind.SIGNATURE).tag or "")
    assert sig is not None
    assert sig.media_type == OCI_MANIFEST
    assert sig.manifest.config.media_type == OCI_CONFIG
    (layer,) = sig.manifest.layers
    assert layer.media_type == SIMPLE_SIGNING
    assert set(layer.annotations or {}) == {SIGNATURE_ANNOTATION}
    payload = client.get_blob(pinned.repository, layer, limit=10_000)
    assert payload == signing.simple_signing.payload(
        pinned.name, pinned.digest or "", {"env": "prod"}
    )
    assert sig.data.startswith(
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":'
    )

    code, out, err = run(
        capsys, "verify", "--key", keys["cosign.pub"], *HTTP, "-a", "env=prod", tag_ref
    )
    assert code == 0, err
    assert err.splitlines() == [
        "",
        f"Verification for {tag_ref} --",
        "The following checks were performed on each of these signatures:",
        "  - The specified annotations were verified.",
        "  - The cosign claims were validated",
        "  - The signatures were verified against the specified public key",
    ]
    assert out == (
        '[{"critical":{"identity":{"docker-reference":"' + pinned.name + '"},'
        '"image":{"docker-manifest-digest":"' + (pinned.digest or "") + '"},'
        '"type":"cosign container image signature"},"optional":{"env":"prod"}}]\n'
    )
    code, out, _ = run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, "-o", "text", ref)
    assert out.encode() == payload + b"\n"
    # Signing again with the same key adds nothing (cosign's dedupe).
    code, _, err = run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, "-a", "env=prod", ref)
    assert code == 0
    assert "already present" in err


@pytest.mark.parametrize(
    ("case", "extra", "message"),
    [
        ("wrong key", ["--key", "other.pub"], "does not verify"),
        ("annotation", ["--key", "cosign.pub", "-a", "env=dev"], "annotation env=dev"),
    ],
)
def test_verify_failures_exit_1(
    registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    case: str,
    extra: list[str],
    message: str,
) -> None:
    ref = image(registry, "cli-fail")
    assert run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, "-a", "env=prod", ref)[0] == 0
    args = [keys.get(a, a) for a in extra]
    code, out, err = run(capsys, "verify", *HTTP, *args, ref)
    assert code == 1
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unsigned_image_exits_1(
    registry: RegistryService, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "verify", "--key", keys["cosign.pub"], *HTTP, image(registry, "cli-unsigned")
    )
    assert (code, out) == (1, "")
    assert "no signatures found" in err


def test_signature_copied_from_another_image_is_rejected(
    registry: RegistryService, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    a = parse_reference(image(registry, "cli-image-a"))
    b = parse_reference(image(registry, "cli-image-b"))
    assert run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, str(a))[0] == 0
    client, _ = open_registry(str(a), options=registry.options)
    a_sig = client.get_manifest(a.repository, triangulate(a, Kind.SIGNATURE).tag or "")
    assert a_sig is not None
    for descriptor in (a_sig.manifest.config, *a_sig.manifest.layers):
        data = client.get_blob(a.repository, descriptor, limit=10_000)
        client.put_blob(b.repository, data)
    client.put_manifest(b.repository, triangulate(b, Kind.SIGNATURE).tag or "", a_sig)
    code, out, err = run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, str(b))
    assert (code, out) == (1, "")
    assert f"the payload is for {a.digest}, not this image ({b.digest})" in err


def test_attest_and_verify_attestation(
    registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ref = parse_reference(image(registry, "cli-attest"))
    predicate = tmp_path / "provenance.json"
    predicate.write_text('{"builder":{"id":"https://tekton.dev/chains/v2"},"buildType":"x"}')
    code, _, err = run(
        capsys,
        "attest",
        "--key",
        keys["cosign"],
        *HTTP,
        *FAST,
        "--predicate",
        str(predicate),
        "--type",
        "slsaprovenance",
        str(ref),
    )
    assert code == 0, err
    client, _ = open_registry(str(ref), options=registry.options)
    att = client.get_manifest(ref.repository, triangulate(ref, Kind.ATTESTATION).tag or "")
    assert att is not None
    (layer,) = att.manifest.layers
    assert layer.media_type == DSSE_ENVELOPE
    assert layer.annotations == {
        SIGNATURE_ANNOTATION: "",
        "predicateType": "https://slsa.dev/provenance/v0.2",
    }
    envelope = client.get_blob(ref.repository, layer, limit=100_000)
    assert json.loads(envelope)["payloadType"] == "application/vnd.in-toto+json"
    code, out, err = run(
        capsys,
        "verify-attestation",
        "--key",
        keys["cosign.pub"],
        *HTTP,
        "--type",
        "slsaprovenance",
        str(ref),
    )
    assert code == 0, err
    assert out.encode() == envelope + b"\n"
    assert "Verification for" in err
    code, out, err = run(capsys, "verify-attestation", "--key", keys["cosign.pub"], *HTTP, str(ref))
    assert (code, out) == (1, "")
    assert (
        "none of the attestations matched the predicate type: custom, found: https://slsa.dev/provenance/v0.2"
        in err
    )


def test_attach_sbom_and_triangulate(
    registry: RegistryService, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ref = parse_reference(image(registry, "cli-sbom"))
    sbom = tmp_path / "bom.json"
    sbom.write_text('{"bomFormat":"CycloneDX","specVersion":"1.5"}')
    code, _, err = run(
        capsys, "attach", "sbom", "--sbom", str(sbom), "--type", "cyclonedx", *HTTP, *FAST, str(ref)
    )
    assert code == 0, err
    assert "deprecated" in err
    for kind, suffix in (("signature", "sig"), ("attestation", "att"), ("sbom", "sbom")):
        code, out, _ = run(capsys, "triangulate", "--type", kind, *HTTP, f"{ref.name}:v1")
        assert out == f"{ref.name}:{(ref.digest or '').replace(':', '-')}.{suffix}\n"
    code, out, _ = run(capsys, "triangulate", "--type", "digest", *HTTP, f"{ref.name}:v1")
    assert out == f"{ref.name}@{ref.digest}\n"
    raw = subprocess.run(
        [
            require_binary("skopeo"),
            "inspect",
            "--tls-verify=false",
            "--raw",
            f"docker://{triangulate(ref, Kind.SBOM)}",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert json.loads(raw)["layers"][0]["mediaType"] == "application/vnd.cyclonedx+json"


def test_copy_into_a_layout_and_verify_air_gapped(
    registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ref = parse_reference(image(registry, "cli-copy"))
    assert run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, str(ref))[0] == 0
    predicate = tmp_path / "p.txt"
    predicate.write_text("hello")
    assert (
        run(
            capsys,
            "attest",
            "--key",
            keys["cosign"],
            *HTTP,
            *FAST,
            "--predicate",
            str(predicate),
            str(ref),
        )[0]
        == 0
    )
    layout = tmp_path / "airgap"
    code, out, err = run(capsys, "copy", *HTTP, *FAST, f"{ref.name}:v1", f"oci:{layout}")
    assert code == 0, err
    assert out.strip() == f"oci:{layout}@{ref.digest}"
    assert (layout / "index.json").is_file()
    code, _, err = run(capsys, "verify", "--key", keys["cosign.pub"], f"oci:{layout}:v1")
    assert code == 0, err
    code, _, err = run(
        capsys, "verify-attestation", "--key", keys["cosign.pub"], f"oci:{layout}@{ref.digest}"
    )
    assert code == 0, err
    # ... and back out to another repository (and again: the attachments merge, not duplicate).
    target = registry.ref("konflux/cli-copy-back:restored")
    for _ in range(2):
        code, _, err = run(capsys, "copy", *HTTP, *FAST, f"oci:{layout}:v1", target)
        assert code == 0, err
    code, out, err = run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, target)
    assert code == 0, err
    assert len(json.loads(out)) == 1


def test_tls_registry_with_docker_config(
    tls_registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    ref = image(tls_registry, "cli-tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    config = tmp_path / "docker"
    config.mkdir()
    auth = base64.b64encode(f"{tls_registry.username}:{tls_registry.password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {tls_registry.host: {"auth": auth}}}))
    ca = ["--registry-cacert", str(tls_registry.ca_file)]
    code, _, err = run(capsys, "sign", "--key", keys["cosign"], *ca, *FAST, ref)
    assert code == 3
    assert "no credentials were given" in err
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    assert run(capsys, "sign", "--key", keys["cosign"], *ca, *FAST, ref)[0] == 0
    code, _, err = run(capsys, "verify", "--key", keys["cosign.pub"], *ca, ref)
    assert code == 0, err
    code, _, err = run(capsys, "verify", "--key", keys["cosign.pub"], ref)
    assert code == 3
    assert "certificate verification failed" in err
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "none"))
    code, _, err = run(
        capsys,
        "verify",
        "--key",
        keys["cosign.pub"],
        *ca,
        "--registry-username",
        tls_registry.username or "",
        "--registry-password",
        "wrong",
        ref,
    )
    assert code == 3
    assert "refused the credentials" in err


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "--key", "cosign.pub", "UPPER/case"],
        ["verify", "--key", "cosign.pub", "--registry-username", "u", "r.io/a:v1"],
        ["sign", "--key", "cosign", "-a", "novalue", "r.io/a@sha256:" + "0" * 64],
        ["copy", "--only", "bogus", "r.io/a:v1", "r.io/b:v1"],
    ],
)
def test_bad_input_exits_2(
    args: list[str], keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *[keys.get(a, a) for a in args])
    assert (code, out) == (2, "")
    assert err.startswith("konflux-supply: invalid input:")


def test_faults_through_the_cli(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    signed = parse_reference(image(registry, "cli-faults"))
    unsigned = parse_reference(image(registry, "cli-faults-unsigned"))
    wrong = parse_reference(image(registry, "cli-faults-wrong"))
    assert run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, str(signed))[0] == 0
    assert run(capsys, "sign", "--key", keys["other"], *HTTP, *FAST, str(wrong))[0] == 0

    def via(ref: object) -> str:
        pinned = parse_reference(str(ref))
        return f"{fault_proxy.host}/{pinned.repository}@{pinned.digest}"

    fault_proxy.plan.add("status", status=503, times=1)
    fault_proxy.plan.add("reset", times=1)
    fault_proxy.plan.add("corrupt", method="GET", path="/blobs/", times=1)
    assert run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, via(signed))[0] == 0
    fault_proxy.plan.clear()
    fault_proxy.plan.add("status", status=500, method="GET", path="/manifests/", times=None)
    retries = ["--registry-retries", "2"]
    code, out, err = run(
        capsys, "verify", "--key", keys["cosign.pub"], *HTTP, *retries, via(signed)
    )
    assert (code, out) == (3, "")
    assert "HTTP 500" in err
    for target in (unsigned, wrong):
        for rule in (
            {"fault": "status", "status": 502},
            {"fault": "truncate"},
            {"fault": "corrupt"},
        ):
            fault_proxy.plan.clear()
            fault_proxy.plan.add(rule.pop("fault"), method="GET", times=None, **rule)  # type: ignore[arg-type]
            code, out, _ = run(
                capsys, "verify", "--key", keys["cosign.pub"], *HTTP, *retries, via(target)
            )
            assert code in (1, 3)
            assert out == ""


def test_cosign_repository_and_docker_media_types(
    registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from konflux_supply.models.oci import DOCKER_MANIFEST

    ref = parse_reference(image(registry, "cli-relocated"))
    monkeypatch.setenv("COSIGN_REPOSITORY", registry.ref("konflux/signatures"))
    monkeypatch.setenv("COSIGN_DOCKER_MEDIA_TYPES", "1")
    code, _, err = run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, str(ref))
    assert code == 0, err
    client, _ = open_registry(str(ref), options=registry.options)
    tag = triangulate(ref, Kind.SIGNATURE).tag or ""
    assert client.get_manifest(ref.repository, tag) is None
    moved = client.get_manifest("konflux/signatures", tag)
    assert moved is not None
    assert moved.media_type == DOCKER_MANIFEST
    assert run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, str(ref))[0] == 0
    monkeypatch.delenv("COSIGN_REPOSITORY")
    assert run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, str(ref))[0] == 1


@pytest.mark.parametrize("service", ["registry", "referrers_registry"])
def test_referrers_mode(
    service: str,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    target: RegistryService = request.getfixturevalue(service)
    ref = parse_reference(image(target, "cli-referrers"))
    mode = ["--registry-referrers-mode", "oci-1-1"]
    code, _, err = run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, *mode, str(ref))
    assert code == 0, err
    assert f"{ref.name}@sha256:" in err
    # a plain verify finds it (referrers are always read: issue 10, item 14)
    code, out, err = run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, str(ref))
    assert code == 0, err
    assert len(json.loads(out)) == 1
    code, out, err = run(
        capsys,
        "verify",
        "--key",
        keys["cosign.pub"],
        *HTTP,
        "--new-bundle-format",
        "--insecure-ignore-tlog",
        str(ref),
    )
    assert code == 0, err
    assert len(json.loads(out)) == 1


def test_copy_between_repositories_mounts_blobs(
    registry: RegistryService, keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    ref = parse_reference(image(registry, "cli-mount"))
    assert run(capsys, "sign", "--key", keys["cosign"], *HTTP, *FAST, str(ref))[0] == 0
    target = registry.ref("konflux/cli-mount-copy:v2")
    code, out, err = run(capsys, "copy", *HTTP, *FAST, "--only", "sig", str(ref), target)
    assert code == 0, err
    assert out.strip() == f"{registry.ref('konflux/cli-mount-copy')}@{ref.digest}"
    assert run(capsys, "verify", "--key", keys["cosign.pub"], *HTTP, target)[0] == 0


def test_what_the_cli_writes_is_read_by_skopeo_and_oras(
    registry: RegistryService,
    keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import oras.provider

    ref = parse_reference(image(registry, "cli-interop"))
    predicate = tmp_path / "predicate.json"
    predicate.write_text('{"scanner":{"uri":"x"}}')
    sbom = Path(__file__).parents[3] / "fixtures" / "sbom" / "image.spdx.json"
    for args in (
        ["sign", "--key", keys["cosign"], "-a", "team=a"],
        ["attest", "--key", keys["cosign"], "--predicate", str(predicate), "--type", "vuln"],
        ["attach", "sbom", "--sbom", str(sbom)],
    ):
        code, _, err = run(capsys, *args, *HTTP, *FAST, str(ref))
        assert code == 0, err
    client, _ = open_registry(str(ref), options=registry.options)
    oras_client = oras.provider.Registry(hostname=registry.host, insecure=True)
    expected_layer = {
        Kind.SIGNATURE: SIMPLE_SIGNING,
        Kind.ATTESTATION: DSSE_ENVELOPE,
        Kind.SBOM: "text/spdx+json",
    }
    for kind, media_type in expected_layer.items():
        tag = triangulate(ref, kind)
        ours = client.get_manifest(ref.repository, tag.tag or "")
        assert ours is not None
        raw = subprocess.run(
            [require_binary("skopeo"), "inspect", "--tls-verify=false", "--raw", f"docker://{tag}"],
            capture_output=True,
            check=True,
        ).stdout
        assert raw == ours.data
        container = f"{registry.host}/{ref.repository}:{tag.tag}"
        manifest = oras_client.get_manifest(container)
        assert manifest == json.loads(ours.data)
        (layer,) = manifest["layers"]
        assert layer["mediaType"] == media_type
        blob = oras_client.get_blob(container, layer["digest"]).content
        assert blob == client.get_blob(ref.repository, ours.manifest.layers[0], limit=1 << 20)
    payload = json.loads(
        client.get_blob(
            ref.repository,
            client.get_manifest(
                ref.repository, triangulate(ref, Kind.SIGNATURE).tag or ""
            ).manifest.layers[0],  # type: ignore[union-attr]
            limit=1 << 20,
        )
    )
    assert payload["optional"] == {"team": "a"}
    assert payload["critical"]["image"]["docker-manifest-digest"] == ref.digest
