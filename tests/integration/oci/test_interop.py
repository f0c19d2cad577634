"""What we write is read by independent clients: skopeo (containers/image) and oras-py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Layer,
    Reference,
    append_layer,
    open_registry,
    read_attachments,
    triangulate,
)
from konflux_supply.oci.cosign import write_sbom
from tests.integration.conftest import RegistryService, require_binary
from tests.integration.oci.helpers import att_layer, push_image, sig_layer

pytestmark = pytest.mark.integration


def _skopeo(*args: str) -> bytes:
    binary = require_binary("skopeo")
    done = subprocess.run([binary, *args], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def _attach_all(registry: RegistryService, repository: str) -> tuple[Reference, dict[Kind, bytes]]:
    client, _ = open_registry(registry.ref(f"{repository}:v1"), options=registry.options)
    subject = push_image(client, registry.ref(f"{repository}:v1"), repository.encode())
    append_layer(client, subject, Kind.SIGNATURE, sig_layer("a"), policy=AppendPolicy())
    append_layer(client, subject, Kind.SIGNATURE, sig_layer("b"), policy=AppendPolicy())
    append_layer(client, subject, Kind.ATTESTATION, att_layer("c"), policy=AppendPolicy())
    write_sbom(
        client, subject, Layer("application/vnd.cyclonedx+json", b'{"bomFormat":"CycloneDX"}')
    )
    raw = {}
    for kind in Kind:
        manifest = client.get_manifest(subject.repository, triangulate(subject, kind).tag or "")
        assert manifest is not None
        raw[kind] = manifest.data
    return subject, raw


def test_skopeo_reads_our_attachments_byte_for_byte(
    registry: RegistryService, tmp_path: Path
) -> None:
    subject, raw = _attach_all(registry, "konflux/interop")
    for kind, data in raw.items():
        tag = triangulate(subject, kind)
        assert _skopeo("inspect", "--tls-verify=false", "--raw", f"docker://{tag}") == data
    tags = json.loads(_skopeo("list-tags", "--tls-verify=false", f"docker://{subject.name}"))[
        "Tags"
    ]
    assert {triangulate(subject, kind).tag for kind in Kind} <= set(tags)
    sig = triangulate(subject, Kind.SIGNATURE)
    copy = f"{registry.host}/konflux/interop-copy:{sig.tag}"
    _skopeo(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--preserve-digests",
        f"docker://{sig}",
        f"docker://{copy}",
    )
    client, _ = open_registry(copy, options=registry.options)
    copied = client.get_manifest("konflux/interop-copy", sig.tag or "")
    assert copied is not None
    assert copied.data == raw[Kind.SIGNATURE]
    layout = tmp_path / "layout"
    _skopeo("copy", "--src-tls-verify=false", f"docker://{sig}", f"oci:{layout}:{sig.tag}")
    from_layout, _ = open_registry(f"oci:{layout}:{sig.tag}")
    copied_subject = Reference("", str(layout), digest=subject.digest, layout=True)
    read = read_attachments(from_layout, copied_subject, Kind.SIGNATURE)
    assert [layer.data for layer in read.layers] == [sig_layer("a").data, sig_layer("b").data]


def test_skopeo_over_tls_with_basic_auth(tls_registry: RegistryService, tmp_path: Path) -> None:
    subject, raw = _attach_all(tls_registry, "konflux/interop-tls")
    certs = tmp_path / "certs"
    certs.mkdir()
    assert tls_registry.ca_file is not None
    (certs / "ca.crt").write_bytes(tls_registry.ca_file.read_bytes())
    att = triangulate(subject, Kind.ATTESTATION)
    out = _skopeo(
        "inspect",
        "--cert-dir",
        str(certs),
        "--creds",
        f"{tls_registry.username}:{tls_registry.password}",
        "--raw",
        f"docker://{att}",
    )
    assert out == raw[Kind.ATTESTATION]


def test_oras_reads_our_attachments(
    registry: RegistryService, tls_registry: RegistryService
) -> None:
    import oras.provider

    subject, raw = _attach_all(registry, "konflux/interop-oras")
    client = oras.provider.Registry(hostname=registry.host, insecure=True)
    sig = triangulate(subject, Kind.SIGNATURE)
    container = f"{registry.host}/{sig.repository}:{sig.tag}"
    manifest = client.get_manifest(container)
    assert manifest == json.loads(raw[Kind.SIGNATURE])
    for layer, name in zip(manifest["layers"], ("a", "b"), strict=True):
        assert layer["annotations"]["dev.cosignproject.cosign/signature"] == name
        assert client.get_blob(container, layer["digest"]).content == sig_layer(name).data

    subject, raw = _attach_all(tls_registry, "konflux/interop-oras-tls")
    assert tls_registry.ca_file is not None
    secure = oras.provider.Registry(
        hostname=tls_registry.host, tls_verify=str(tls_registry.ca_file), auth_backend="basic"
    )
    secure.auth.set_basic_auth(tls_registry.username, tls_registry.password)
    secure.set_header("Authorization", secure.auth.get_auth_header()["Authorization"])
    att = triangulate(subject, Kind.ATTESTATION)
    manifest = secure.get_manifest(f"{tls_registry.host}/{att.repository}:{att.tag}")
    assert manifest == json.loads(raw[Kind.ATTESTATION])
    assert manifest["layers"][0]["annotations"]["predicateType"] == "https://example.com/p"
