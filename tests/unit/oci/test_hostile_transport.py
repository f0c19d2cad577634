"""A hostile or broken registry against the HTTP client: headers that are not what they seem,
credentials steered to other hosts or plain HTTP, pagination that never ends.

Every case must end in a typed :mod:`konflux_supply.errors` exception (or the right answer),
never a foreign exception, a hang, or a secret sent where it does not belong.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from konflux_supply.errors import RegistryError
from konflux_supply.models.oci import OCI_INDEX, Descriptor
from konflux_supply.oci import Credentials, Limits
from tests.unit.oci.scripted import Answer, Seen
from tests.unit.oci.test_http import DIGEST, HOST, MANIFEST, make, manifest_answer

BASIC = "Basic " + base64.b64encode(b"u:secret").decode()
CREDS = {HOST: Credentials("u", "secret")}


@pytest.mark.parametrize("value", ["²", "³", "¹", "٣"])
def test_non_ascii_digits_in_numeric_headers_are_not_numbers(value: str) -> None:
    """``str.isdigit()`` is true for '²' but ``int('²')`` raises ValueError."""
    registry, _, _ = make(lambda s: Answer(503, headers={"Retry-After": value}))
    with pytest.raises(RegistryError, match="HTTP 503"):
        registry.get_manifest("ns/app", DIGEST)
    registry, _, _ = make(lambda s: manifest_answer(**{"Content-Length": value}))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    data = b"x" * 10
    registry, _, _ = make(lambda s: Answer(200, data, {"Content-Length": value}))
    assert registry.get_blob("r", Descriptor.for_bytes(data, "m"), limit=100) == data
    headers = {"Docker-Content-Digest": DIGEST, "Content-Type": "x", "Content-Length": value}
    registry, _, _ = make(lambda s: Answer(200, b"", headers))
    with pytest.raises(RegistryError, match="without a digest, size or media type"):
        registry.head_manifest("ns/app", DIGEST)


def _basic_challenge(seen: Seen) -> Answer | None:
    if seen.url.startswith(f"https://{HOST}/") and seen.headers.get("Authorization") != BASIC:
        return Answer(401, b"{}", {"WWW-Authenticate": 'Basic realm="x"'})
    return None


@pytest.mark.parametrize(
    ("location", "plain"),
    [
        ("https://storage.elsewhere.test/upload/1", False),
        ("http://storage.elsewhere.test/upload/1", True),
        ("HTTP://storage.elsewhere.test/upload/1", True),
        ("https://registry.test.elsewhere.test/upload/1", False),
        ("https://registry.test:8443/upload/1", False),
        ("//storage.elsewhere.test/upload/1", False),
    ],
)
def test_credentials_never_follow_a_location_to_another_origin(location: str, plain: bool) -> None:
    def handler(seen: Seen) -> Answer:
        challenged = _basic_challenge(seen)
        if challenged is not None:
            return challenged
        if seen.method == "HEAD":
            return Answer(404)
        if seen.method == "POST":
            return Answer(202, headers={"Location": location})
        return Answer(201)

    registry, adapter, _ = make(handler, credentials=CREDS)
    if plain:
        with pytest.raises(RegistryError, match="refusing plain HTTP to storage"):
            registry.put_blob("ns/app", b"data")
    else:
        registry.put_blob("ns/app", b"data")
        assert adapter.seen[-1].method == "PUT"
    for seen in adapter.seen:
        if not seen.url.startswith(f"https://{HOST}/"):
            assert "Authorization" not in seen.headers, seen.url
            assert seen.url.lower().startswith("https://"), seen.url


def test_a_same_host_plain_http_location_is_upgraded_to_the_registry_scheme() -> None:
    """A TLS-terminating proxy that writes ``http://`` into Location (ggcr upgrades it)."""

    def handler(seen: Seen) -> Answer:
        challenged = _basic_challenge(seen)
        if challenged is not None:
            return challenged
        if seen.method == "HEAD":
            return Answer(404)
        if seen.method == "POST":
            return Answer(202, headers={"Location": f"http://{HOST}/v2/ns/app/blobs/uploads/1"})
        return Answer(201)

    registry, adapter, _ = make(handler, credentials=CREDS)
    registry.put_blob("ns/app", b"data")
    put = adapter.seen[-1]
    assert put.method == "PUT"
    assert put.url.startswith(f"https://{HOST}/v2/ns/app/blobs/uploads/1?digest=")
    assert put.headers["Authorization"] == BASIC


def test_pagination_links_to_another_host_carry_no_credentials() -> None:
    def handler(seen: Seen) -> Answer:
        challenged = _basic_challenge(seen)
        if challenged is not None:
            return challenged
        if HOST in seen.url:
            link = '<https://evil.test/v2/ns/app/tags/list?last=a>; rel="next"'
            return Answer(200, b'{"tags":["a"]}', {"Link": link})
        return Answer(200, b'{"tags":["b"]}')

    registry, adapter, _ = make(handler, credentials=CREDS)
    registry.list_tags("ns/app")
    assert [s.headers.get("Authorization") for s in adapter.seen if "evil" in s.url] == [None]


@pytest.mark.parametrize(
    "realm", ["http://auth.elsewhere.test/token", "HTTP://auth.elsewhere.test/token"]
)
def test_basic_credentials_never_go_to_a_plain_http_token_realm(realm: str) -> None:
    def handler(seen: Seen) -> Answer:
        if "auth.elsewhere" in seen.url:
            return Answer(200, b'{"token":"t"}')
        if seen.headers.get("Authorization") != "Bearer t":
            return Answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{realm}",service="s"'})
        return manifest_answer()

    registry, adapter, _ = make(handler, credentials=CREDS)
    with pytest.raises(RegistryError, match="plain HTTP"):
        registry.get_manifest("ns/app", DIGEST)
    assert not [s for s in adapter.seen if "auth.elsewhere" in s.url]


def test_a_relative_realm_stays_on_the_registry() -> None:
    def handler(seen: Seen) -> Answer:
        if "/token" in seen.url:
            return Answer(200, b'{"token":"t"}')
        if seen.headers.get("Authorization") != "Bearer t":
            return Answer(401, b"{}", {"WWW-Authenticate": 'Bearer realm=".evil.test/token"'})
        return manifest_answer()

    registry, adapter, _ = make(handler, credentials=CREDS)
    assert registry.get_manifest("ns/app", DIGEST) is not None
    token_urls = [s.url for s in adapter.seen if "/token" in s.url]
    assert token_urls
    assert all(u.startswith(f"https://{HOST}/") for u in token_urls)


@pytest.mark.parametrize(
    ("cdn", "plain"), [("https://cdn.test/b", False), ("http://cdn.test/b", True)]
)
def test_blob_redirects_carry_no_credentials_and_never_go_plain(cdn: str, plain: bool) -> None:
    data = b"layer"

    def handler(seen: Seen) -> Answer:
        challenged = _basic_challenge(seen)
        if challenged is not None:
            return challenged
        if HOST in seen.url:
            return Answer(307, headers={"Location": cdn})
        return Answer(200, data)

    registry, adapter, _ = make(handler, credentials=CREDS)
    descriptor = Descriptor.for_bytes(data, "m")
    if plain:
        with pytest.raises(RegistryError, match="redirect to plain HTTP"):
            registry.get_blob("ns/app", descriptor, limit=100)
    else:
        assert registry.get_blob("ns/app", descriptor, limit=100) == data
    assert [s.headers.get("Authorization") for s in adapter.seen if "cdn" in s.url][:1] == [None]


def test_endless_referrers_pagination_is_bounded() -> None:
    page = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
    link = f'</v2/ns/app/referrers/{DIGEST}>; rel="next"'
    registry, adapter, _ = make(
        lambda s: Answer(200, page, {"Content-Type": OCI_INDEX, "Link": link}),
        limits=Limits(max_referrers=5),
    )
    with pytest.raises(RegistryError, match="pagination"):
        registry.referrers("ns/app", DIGEST)
    assert len(adapter.seen) <= 7


def test_a_reset_while_streaming_a_blob_is_a_registry_error() -> None:
    reset = Answer(error=requests.exceptions.ConnectionError("Connection reset by peer"))
    registry, _, _ = make(lambda s: reset)
    descriptor = Descriptor.for_bytes(MANIFEST, "m")
    with pytest.raises(RegistryError, match="connection reset"):
        list(registry.iter_blob("ns/app", descriptor))


_DEEP = b"[" * 70_000 + b"]" * 70_000
_odd_json = st.sampled_from([_DEEP, b"[]", b"5", b'"x"', b"null", b'{"errors":5}', b"\xff"]) | (
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=60, deadline=None)
@given(_odd_json, st.sampled_from([400, 403, 404, 405]))
def test_error_bodies_never_escape_as_foreign_exceptions(body: bytes, status: int) -> None:
    registry, _, _ = make(lambda s: Answer(status, body))
    with pytest.raises(RegistryError):
        registry.get_blob("ns/app", Descriptor.for_bytes(b"x", "m"), limit=10)


@settings(max_examples=60, deadline=None)
@given(_odd_json)
def test_tag_lists_and_token_answers_give_registry_errors_only(body: bytes) -> None:
    registry, _, _ = make(lambda s: Answer(200, body))
    try:
        tags = registry.list_tags("ns/app")
    except RegistryError:
        pass
    else:
        assert all(isinstance(tag, str) for tag in tags)

    def handler(seen: Seen) -> Answer:
        if "/token" in seen.url:
            return Answer(200, body)
        return Answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="https://{HOST}/token"'})

    registry, _, _ = make(handler, credentials=CREDS)
    with pytest.raises(RegistryError):
        registry.get_manifest("ns/app", DIGEST)


_location = st.one_of(
    st.text(max_size=40),
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "HTTPS", "ftp", "", "javascript"]),
        st.sampled_from([HOST, f"{HOST}:443", f"{HOST}:80", "[::1", "evil.test", "a@b", ""]),
        st.text(alphabet="/?#%:@[]ab", max_size=12),
    ),
)


@settings(max_examples=150, deadline=None)
@given(_location)
@example("https://0:@0/")
@example(f"https://evil.test@{HOST}/upload")
@example(f"https://{HOST}@evil.test/upload")
@example(f"https://{HOST}:443@evil.test/upload")
def test_any_location_header_is_followed_safely(location: str) -> None:
    def handler(seen: Seen) -> Answer:
        challenged = _basic_challenge(seen)
        if challenged is not None:
            return challenged
        if seen.method == "HEAD":
            return Answer(404)
        if seen.method == "POST":
            return Answer(202, headers={"Location": location})
        return Answer(201)

    registry, adapter, _ = make(handler, credentials=CREDS)
    with contextlib.suppress(RegistryError):
        registry.put_blob("ns/app", b"data")
    for seen in adapter.seen:
        if seen.headers.get("Authorization") == BASIC:  # (userinfo in a URL is its own)
            assert seen.url.startswith(f"https://{HOST}/"), seen.url
