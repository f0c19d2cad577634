"""The HTTP client against real registries: distribution 2.8 (HTTP, TLS + htpasswd) and the
bearer/referrers fake."""

from __future__ import annotations

import dataclasses

import pytest

from konflux_supply.errors import RegistryError
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import (
    AppendPolicy,
    Credentials,
    Kind,
    RegistryOptions,
    append_layer,
    list_referrers,
    open_registry,
    read_attachments,
    resolve,
)
from tests.integration.conftest import RegistryService
from tests.integration.oci.helpers import push_image, sig_layer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["registry", "tls_registry", "bearer_registry"])
def service(request: pytest.FixtureRequest) -> RegistryService:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def test_round_trip(service: RegistryService) -> None:
    registry, ref = open_registry(service.ref("konflux/round:v1"), options=service.options)
    with_digest = push_image(registry, str(ref), b"round trip")
    resolved, manifest = resolve(registry, ref)
    assert resolved.digest == with_digest.digest
    assert manifest.digest == with_digest.digest
    head = registry.head_manifest(ref.repository, "v1")
    assert head is not None
    assert head.digest == with_digest.digest
    layer = manifest.manifest.layers[0]
    assert registry.get_blob(ref.repository, layer, limit=1024) == b"round trip"
    assert b"".join(registry.iter_blob(ref.repository, layer)) == b"round trip"
    assert "v1" in registry.list_tags(ref.repository)
    append_layer(registry, resolved, Kind.SIGNATURE, sig_layer("a"), policy=AppendPolicy())
    read = read_attachments(registry, resolved, Kind.SIGNATURE)
    assert [layer.data for layer in read.layers] == [sig_layer("a").data]
    registry.close()


def test_large_chunked_upload_with_auth_sent_up_front(service: RegistryService) -> None:
    options = dataclasses.replace(service.options, chunk_size=8 * 1024 * 1024)
    registry, ref = open_registry(service.ref("konflux/big:v1"), options=options)
    data = bytes(range(256)) * (4096 * 30)  # 30 MiB, four chunks
    digest = registry.put_blob(ref.repository, data)
    assert registry.has_blob(ref.repository, digest)
    descriptor = Descriptor(media_type="application/octet-stream", size=len(data), digest=digest)
    assert registry.get_blob(ref.repository, descriptor, limit=len(data)) == data
    registry.close()


def test_cross_repository_mount(registry: RegistryService) -> None:
    client, ref = open_registry(registry.ref("konflux/mount-src:v1"), options=registry.options)
    digest = client.put_blob(ref.repository, b"mount me")
    client.put_blob("konflux/mount-dst", b"mount me", mount_from=ref.repository)
    assert client.has_blob("konflux/mount-dst", digest)


def test_tls_needs_the_ca_even_with_requests_ca_bundle_set(
    tls_registry: RegistryService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    registry, ref = open_registry(tls_registry.ref("konflux/ca:v1"), options=tls_registry.options)
    push_image(registry, str(ref))
    assert registry.get_manifest(ref.repository, "v1") is not None
    no_ca = dataclasses.replace(tls_registry.options, ca_file=None)
    registry, _ = open_registry(tls_registry.ref("konflux/ca:v1"), options=no_ca)
    with pytest.raises(RegistryError, match="certificate verification failed") as caught:
        registry.get_manifest(ref.repository, "v1")
    assert caught.value.exit_code == 3


def test_tls_credentials(tls_registry: RegistryService) -> None:
    for credentials, message in (
        (None, "no credentials were given"),
        ({tls_registry.host: Credentials("konflux", "wrong")}, "refused the credentials"),
    ):
        options = dataclasses.replace(tls_registry.options, credentials=credentials)
        registry, ref = open_registry(tls_registry.ref("konflux/auth:v1"), options=options)
        with pytest.raises(RegistryError, match=message):
            registry.get_manifest(ref.repository, "v1")


def test_plain_http_needs_permission(registry: RegistryService) -> None:
    strict = RegistryOptions(retry=registry.options.retry)
    client, ref = open_registry(registry.ref("konflux/http:v1"), options=strict)
    with pytest.raises(RegistryError) as caught:
        client.get_manifest(ref.repository, "v1")
    # Said at once (not retried), with the flag that allows it.
    assert "does not speak TLS" in caught.value.message
    assert "--allow-http-registry" in (caught.value.hint or "")


def test_distribution_has_no_referrers_api(registry: RegistryService) -> None:
    client, ref = open_registry(registry.ref("konflux/refs:v1"), options=registry.options)
    pinned = push_image(client, str(ref))
    assert client.referrers(ref.repository, pinned.digest or "") is None
    assert list_referrers(client, pinned).source == "tag"


def test_fake_referrers_api_and_bearer_pagination(bearer_registry: RegistryService) -> None:
    assert bearer_registry.fake is not None
    start = len(bearer_registry.fake.state.requests)
    client, ref = open_registry(
        bearer_registry.ref("konflux/pages:v1"), options=bearer_registry.options
    )
    for tag in ("a", "b", "c", "d", "e"):
        push_image(client, bearer_registry.ref(f"konflux/pages:{tag}"), tag.encode())
    assert sorted(client.list_tags(ref.repository)) == ["a", "b", "c", "d", "e"]
    seen = bearer_registry.fake.state.requests[start:]
    unauthorised = [r for r in seen if r[2] is None]
    assert len(unauthorised) == 1  # only the first request meets a challenge
    tags_pages = [r for r in seen if r[1].endswith("/tags/list")]
    assert len(tags_pages) == 3  # page size 2: Link pagination followed
