"""The HTTP registry client against a scripted transport: auth, retries, integrity, uploads."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import OCI_INDEX, OCI_MANIFEST, Descriptor, digest_of
from konflux_supply.oci import (
    Credentials,
    Limits,
    RegistryOptions,
    RetryPolicy,
    SizeLimitExceeded,
    _http,
)
from konflux_supply.oci._http import HttpRegistry
from tests.unit.oci.scripted import Answer, ScriptedAdapter, Seen

HOST = "registry.test"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "c", "size": 2, "digest": "sha256:" + "0" * 64},
        "layers": [],
    }
).encode()
DIGEST = digest_of(MANIFEST)
RETRY = RetryPolicy(attempts=4, backoff=0.1, max_backoff=1, max_retry_after=30)


def make(
    handler: Callable[[Seen], Answer], **options: object
) -> tuple[HttpRegistry, ScriptedAdapter, list[float]]:
    adapter = ScriptedAdapter(handler)
    sleeps: list[float] = []
    opts = RegistryOptions(retry=options.pop("retry", RETRY), **options)  # type: ignore[arg-type]
    return HttpRegistry(HOST, opts, adapter=adapter, sleep=sleeps.append), adapter, sleeps


def manifest_answer(body: bytes = MANIFEST, **headers: str) -> Answer:
    return Answer(200, body, {"Content-Type": OCI_MANIFEST, **headers})


def sequence(*answers: Answer) -> Callable[[Seen], Answer]:
    queue = list(answers)
    return lambda seen: queue.pop(0) if len(queue) > 1 else queue[0]


def test_get_manifest_by_digest_checks_the_digest_and_sends_full_accept() -> None:
    registry, adapter, _ = make(lambda s: manifest_answer())
    raw = registry.get_manifest("ns/app", DIGEST)
    assert raw is not None
    assert raw.data == MANIFEST
    assert raw.digest == DIGEST
    accept = adapter.seen[0].headers["Accept"]
    for media_type in (OCI_MANIFEST, OCI_INDEX, "manifest.v2+json", "manifest.list.v2+json"):
        assert media_type in accept
    assert adapter.seen[0].url == f"https://{HOST}/v2/ns/app/manifests/{DIGEST}"


def test_transient_wrong_digest_is_retried_then_succeeds() -> None:
    corrupt = manifest_answer(MANIFEST.replace(b'"c"', b'"d"'))
    registry, adapter, sleeps = make(sequence(corrupt, corrupt, manifest_answer()))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    assert len(adapter.seen) == 3
    assert len(sleeps) == 2


def test_persistent_wrong_digest_is_a_registry_error_naming_it() -> None:
    registry, adapter, _ = make(lambda s: manifest_answer(MANIFEST.replace(b'"c"', b'"d"')))
    with pytest.raises(RegistryError, match="does not match the requested digest") as caught:
        registry.get_manifest("ns/app", DIGEST)
    assert "gave up after 4 attempts" in caught.value.summary()
    assert len(adapter.seen) == 4


def test_docker_content_digest_disagreeing_with_body_is_rejected() -> None:
    wrong = "sha256:" + "f" * 64
    registry, _, _ = make(lambda s: manifest_answer(**{"Docker-Content-Digest": wrong}))
    with pytest.raises(RegistryError, match="Docker-Content-Digest"):
        registry.get_manifest("ns/app", "v1")


def test_type_confusion_is_rejected_without_retry() -> None:
    registry, adapter, _ = make(lambda s: Answer(200, MANIFEST, {"Content-Type": OCI_INDEX}))
    with pytest.raises(RegistryError, match=r"invalid manifest.*disagrees"):
        registry.get_manifest("ns/app", "v1")
    assert len(adapter.seen) == 1


def test_missing_manifest_is_none() -> None:
    registry, _, _ = make(lambda s: Answer(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'))
    assert registry.get_manifest("ns/app", "v1") is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_retryable_statuses(status: int) -> None:
    registry, adapter, _ = make(sequence(Answer(status), manifest_answer()))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    assert len(adapter.seen) == 2


def test_retry_after_is_honoured() -> None:
    registry, _, sleeps = make(
        sequence(Answer(429, headers={"Retry-After": "7"}), manifest_answer())
    )
    registry.get_manifest("ns/app", DIGEST)
    assert 7 <= sleeps[0] < 7.2


def test_retry_after_beyond_the_cap_ends_retries() -> None:
    registry, adapter, _ = make(lambda s: Answer(503, headers={"Retry-After": "3600"}))
    with pytest.raises(RegistryError, match="retry after 3600 s"):
        registry.get_manifest("ns/app", DIGEST)
    assert len(adapter.seen) == 1


def test_persistent_5xx_names_the_status() -> None:
    registry, adapter, sleeps = make(lambda s: Answer(503))
    with pytest.raises(RegistryError, match="HTTP 503") as caught:
        registry.get_manifest("ns/app", DIGEST)
    assert caught.value.exit_code == 3
    assert len(adapter.seen) == 4
    assert all(0 < s <= 1 for s in sleeps)


def test_connection_resets_are_retried() -> None:
    reset = Answer(error=requests.exceptions.ConnectionError("Connection reset by peer"))
    registry, _, _ = make(sequence(reset, reset, manifest_answer()))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    registry, _, _ = make(lambda s: reset)
    with pytest.raises(RegistryError, match="connection reset"):
        registry.get_manifest("ns/app", DIGEST)


def test_truncated_bodies_are_retried() -> None:
    cut = Answer(200, MANIFEST, {"Content-Type": OCI_MANIFEST}, truncate_at=10)
    registry, adapter, _ = make(sequence(cut, manifest_answer()))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    assert len(adapter.seen) == 2


def test_client_errors_are_not_retried() -> None:
    body = b'{"errors":[{"code":"DENIED","message":"nope"}]}'
    registry, adapter, _ = make(lambda s: Answer(403, body))
    with pytest.raises(RegistryError, match="access denied") as caught:
        registry.get_manifest("ns/app", DIGEST)
    assert caught.value.code == "DENIED"
    assert caught.value.status == 403
    assert len(adapter.seen) == 1


def _blob_handler(data: bytes, **headers: str) -> Callable[[Seen], Answer]:
    return lambda s: Answer(200, data, headers)


def test_blob_is_capped_and_checked() -> None:
    data = b"x" * 100
    descriptor = Descriptor.for_bytes(data, "m")
    registry, _, _ = make(_blob_handler(data))
    assert registry.get_blob("r", descriptor, limit=1000) == data
    with pytest.raises(SizeLimitExceeded, match="more than the limit"):
        registry.get_blob("r", descriptor, limit=99)
    registry, adapter, _ = make(_blob_handler(data + b"extra"))
    with pytest.raises(RegistryError, match="descriptor says 100"):
        registry.get_blob("r", descriptor, limit=1000)
    assert len(adapter.seen) == 4
    registry, _, _ = make(_blob_handler(b"y" * 100))
    with pytest.raises(RegistryError, match="does not match"):
        registry.get_blob("r", descriptor, limit=1000)


def test_manifest_larger_than_the_cap_is_refused_before_reading() -> None:
    registry, adapter, _ = make(lambda s: manifest_answer(), limits=Limits(max_manifest_bytes=10))
    with pytest.raises(SizeLimitExceeded):
        registry.get_manifest("ns/app", "v1")
    assert len(adapter.seen) == 1


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_is_sent_up_front_after_the_first_challenge() -> None:
    good = _basic("u", "p")

    def handler(seen: Seen) -> Answer:
        if seen.headers.get("Authorization") != good:
            return Answer(401, b"{}", {"WWW-Authenticate": 'Basic realm="x"'})
        return manifest_answer()

    registry, adapter, _ = make(handler, credentials={HOST: Credentials("u", "p")})
    for _ in range(3):
        registry.get_manifest("ns/app", DIGEST)
    assert [a.headers.get("Authorization") for a in adapter.seen] == [None, good, good, good]


def test_missing_and_wrong_credentials() -> None:
    challenge = Answer(401, b"{}", {"WWW-Authenticate": 'Basic realm="x"'})
    registry, _, _ = make(lambda s: challenge)
    with pytest.raises(RegistryError, match="no credentials were given") as caught:
        registry.get_manifest("ns/app", DIGEST)
    assert caught.value.hint
    assert "--registry-username" in caught.value.hint
    registry, adapter, _ = make(lambda s: challenge, credentials={HOST: Credentials("u", "x")})
    with pytest.raises(RegistryError, match="refused the credentials"):
        registry.get_manifest("ns/app", DIGEST)
    assert len(adapter.seen) == 2


def test_bearer_tokens_are_fetched_per_scope_and_cached() -> None:
    tokens = {"repository:ns/app:pull": "T1", "repository:ns/app:pull,push": "T2"}

    def handler(seen: Seen) -> Answer:
        if seen.url.startswith("https://auth.test/token"):
            assert seen.headers["Authorization"] == _basic("u", "p")
            scope = requests.utils.unquote(seen.url.split("scope=")[1])
            assert "service=reg" in seen.url
            return Answer(200, json.dumps({"token": tokens[scope]}).encode())
        if seen.headers.get("Authorization") not in ("Bearer T1", "Bearer T2"):
            return Answer(
                401,
                b"{}",
                {"WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="reg"'},
            )
        if seen.method == "PUT":
            assert seen.headers["Authorization"] == "Bearer T2"
            return Answer(201, headers={"Docker-Content-Digest": DIGEST})
        return manifest_answer()

    registry, adapter, _ = make(handler, credentials={HOST: Credentials("u", "p")})
    registry.get_manifest("ns/app", DIGEST)
    registry.get_manifest("ns/app", DIGEST)
    raw = registry.get_manifest("ns/app", DIGEST)
    assert raw is not None
    registry.put_manifest("ns/app", "v1", raw)
    token_calls = [s for s in adapter.seen if "auth.test" in s.url]
    assert len(token_calls) == 2
    assert sum(1 for s in adapter.seen if s.headers.get("Authorization") is None) == 1


def test_identity_token_uses_the_oauth2_refresh_grant() -> None:
    def handler(seen: Seen) -> Answer:
        if "auth.test" in seen.url:
            assert seen.method == "POST"
            assert b"grant_type=refresh_token" in (seen.body or b"")
            assert b"refresh_token=IDT" in (seen.body or b"")
            return Answer(200, b'{"access_token": "T"}')
        if seen.headers.get("Authorization") != "Bearer T":
            return Answer(401, b"", {"WWW-Authenticate": 'Bearer realm="https://auth.test/t"'})
        return manifest_answer()

    registry, _, _ = make(handler, credentials={HOST: Credentials(identity_token="IDT")})
    assert registry.get_manifest("ns/app", DIGEST) is not None


def test_ca_is_passed_as_verify_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")
    registry, adapter, _ = make(lambda s: manifest_answer(), ca_file="/my/ca.pem")
    registry.get_manifest("ns/app", DIGEST)
    registry.has_blob("ns/app", DIGEST)
    assert {s.verify for s in adapter.seen} == {"/my/ca.pem"}
    registry, adapter, _ = make(lambda s: manifest_answer(), insecure_skip_tls_verify=True)
    registry.get_manifest("ns/app", DIGEST)
    assert adapter.seen[0].verify is False
    registry, adapter, _ = make(lambda s: manifest_answer())
    registry.get_manifest("ns/app", DIGEST)
    assert isinstance(adapter.seen[0].verify, str)
    assert adapter.seen[0].verify.endswith(".pem")


def test_plain_http_only_when_allowed_and_loopback() -> None:
    def tls_fails(seen: Seen) -> Answer:
        if seen.url.startswith("https://"):
            return Answer(error=requests.exceptions.SSLError("wrong version number"))
        return manifest_answer()

    adapter = ScriptedAdapter(tls_fails)
    loopback = HttpRegistry("127.0.0.1:5000", RegistryOptions(allow_http=True), adapter=adapter)
    assert loopback.base_url() == "http://127.0.0.1:5000"
    remote = HttpRegistry("quay.io", RegistryOptions(allow_http=True), adapter=adapter)
    assert remote.base_url() == "https://quay.io"
    forced = HttpRegistry("quay.io", RegistryOptions(allow_http_any=True), adapter=adapter)
    assert forced.base_url() == "http://quay.io"
    untrusted = ScriptedAdapter(
        lambda seen: Answer(error=requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED]"))
    )
    tls = HttpRegistry("127.0.0.1:5443", RegistryOptions(allow_http=True), adapter=untrusted)
    assert tls.base_url() == "https://127.0.0.1:5443"
    strict = HttpRegistry(
        "127.0.0.1:5000", RegistryOptions(retry=RETRY), adapter=adapter, sleep=lambda _: None
    )
    with pytest.raises(RegistryError):
        strict.get_manifest("a", DIGEST)


def test_certificate_errors_are_not_retried_and_say_what_to_do() -> None:
    error = requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] unknown authority")
    registry, adapter, _ = make(lambda s: Answer(error=error))
    with pytest.raises(RegistryError, match="certificate verification failed") as caught:
        registry.get_manifest("ns/app", DIGEST)
    assert caught.value.hint
    assert "--registry-cacert" in caught.value.hint
    assert len(adapter.seen) == 1


def test_monolithic_and_chunked_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "PROBE_ABOVE", 16)  # "tiny" is sent blind, 35 bytes are probed
    uploads: dict[str, bytearray] = {}
    stored: dict[str, bytes] = {}

    def handler(seen: Seen) -> Answer:
        path = seen.url.split(HOST, 1)[1]
        if path == "/v2/":
            return Answer(200, b"{}")
        if seen.method == "HEAD":
            digest = path.rsplit("/", 1)[1]
            return Answer(200 if digest in stored else 404)
        if seen.method == "POST":
            uploads["u1"] = bytearray()
            return Answer(202, headers={"Location": "/v2/ns/app/blobs/uploads/u1?_state=abc"})
        if seen.method == "PATCH":
            start, end = map(int, seen.headers["Content-Range"].split("-"))
            assert start == len(uploads["u1"])
            assert end - start + 1 == len(seen.body or b"")
            uploads["u1"] += seen.body or b""
            return Answer(202, headers={"Location": f"/v2/ns/app/blobs/uploads/u1?_state={end}"})
        if seen.method == "PUT":
            assert "_state=" in seen.url
            assert "&digest=sha256" in seen.url
            uploads["u1"] += seen.body or b""
            digest = "sha256:" + hashlib.sha256(uploads["u1"]).hexdigest()
            stored[digest] = bytes(uploads["u1"])
            return Answer(201)
        raise AssertionError(seen)

    registry, adapter, _ = make(handler, chunk_size=10)
    small = registry.put_blob("ns/app", b"tiny")
    assert stored[small] == b"tiny"
    assert not any(s.method == "PATCH" for s in adapter.seen)
    assert "HEAD" not in [s.method for s in adapter.seen]  # small: no round trip to ask first
    before = len(adapter.seen)
    assert registry.put_blob("ns/app", b"tiny") == small  # sent again: harmless, same digest
    assert [s.method for s in adapter.seen[before:]] == ["POST", "PUT"]
    big = bytes(range(35))
    digest = registry.put_blob("ns/app", big)
    assert stored[digest] == big
    assert sum(1 for s in adapter.seen if s.method == "PATCH") == 4
    before = len(adapter.seen)
    registry.put_blob("ns/app", big)  # exists: HEAD only
    assert [s.method for s in adapter.seen[before:]] == ["HEAD"]
    with pytest.raises(InputError):
        registry.put_blob("ns/app", b"x", digest="sha256:" + "0" * 64)


def test_upload_is_retried_as_a_whole() -> None:
    state = {"posts": 0, "stored": False}

    def handler(seen: Seen) -> Answer:
        if seen.url.endswith("/v2/"):
            return Answer(200, b"{}")
        if seen.method == "HEAD":
            return Answer(200 if state["stored"] else 404)
        if seen.method == "POST":
            state["posts"] += 1
            return Answer(202, headers={"Location": "https://registry.test/up/1"})
        if seen.method == "PUT":
            if state["posts"] == 1:
                return Answer(error=requests.exceptions.ConnectionError("Connection reset"))
            state["stored"] = True
            return Answer(201)
        raise AssertionError(seen)

    registry, _, _ = make(handler)
    registry.put_blob("ns/app", b"data")
    assert state == {"posts": 2, "stored": True}


def test_mount_from_another_repository() -> None:
    def handler(seen: Seen) -> Answer:
        if seen.url.endswith("/v2/"):
            return Answer(200, b"{}")
        if seen.method == "HEAD":
            return Answer(404)
        assert seen.method == "POST"
        assert "mount=sha256" in seen.url
        assert "from=other%2Frepo" in seen.url
        return Answer(201)

    registry, adapter, _ = make(handler)
    registry.put_blob("ns/app", b"data", mount_from="other/repo")
    assert [s.method for s in adapter.seen] == ["GET", "POST"]  # small: no HEAD first


def test_put_manifest_reports_subject_processing_and_checks_the_digest() -> None:
    raw = make(lambda s: manifest_answer())[0].get_manifest("a", DIGEST)
    assert raw is not None
    registry, adapter, _ = make(lambda s: Answer(201, headers={"OCI-Subject": DIGEST}))
    result = registry.put_manifest("ns/app", "v1", raw)
    assert result.subject_processed
    assert result.digest == DIGEST
    assert adapter.seen[0].headers["Content-Type"] == OCI_MANIFEST
    assert adapter.seen[0].body == MANIFEST
    registry, _, _ = make(
        lambda s: Answer(201, headers={"Docker-Content-Digest": "sha256:" + "9" * 64})
    )
    with pytest.raises(RegistryError, match="stored the manifest as"):
        registry.put_manifest("ns/app", "v1", raw)
    with pytest.raises(InputError):
        registry.put_manifest("ns/app", "sha256:" + "9" * 64, raw)


def test_tag_pagination_follows_link_headers() -> None:
    def handler(seen: Seen) -> Answer:
        if "last=b" in seen.url:
            return Answer(200, b'{"tags":["c"]}')
        return Answer(
            200, b'{"tags":["a","b"]}', {"Link": '</v2/ns/app/tags/list?n=2&last=b>; rel="next"'}
        )

    registry, _, _ = make(handler)
    assert registry.list_tags("ns/app") == ["a", "b", "c"]
    registry, _, _ = make(lambda s: Answer(404))
    assert registry.list_tags("ns/app") == []


def test_referrers_api_detection() -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "size": 1, "digest": DIGEST, "artifactType": "a"},
            {"mediaType": OCI_MANIFEST, "size": 1, "digest": DIGEST, "artifactType": "b"},
        ],
    }
    body = json.dumps(index).encode()
    registry, _, _ = make(lambda s: Answer(200, body, {"Content-Type": OCI_INDEX}))
    listing = registry.referrers("ns/app", DIGEST, artifact_type="b")
    assert listing is not None
    assert [d.artifact_type for d in listing.manifests] == ["b"]
    for answer in (
        Answer(404, b"404 page not found"),
        Answer(200, b"{}", {"Content-Type": "text/html"}),
    ):
        registry, _, _ = make(lambda s, a=answer: a)
        assert registry.referrers("ns/app", DIGEST) is None
    registry, _, _ = make(lambda s: Answer(500))
    with pytest.raises(RegistryError, match="HTTP 500"):
        registry.referrers("ns/app", DIGEST)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 0 ", 0.0), ("soon", None), ("", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    from konflux_supply.oci._transport import _retry_after

    response = requests.Response()
    response.headers["Retry-After"] = value
    assert _retry_after(response) == expected


@given(st.text(max_size=40))
def test_retry_after_never_crashes(value: str) -> None:
    from konflux_supply.oci._transport import _retry_after

    response = requests.Response()
    response.headers["Retry-After"] = value.replace("\n", " ").replace("\r", " ")
    result = _retry_after(response)
    assert result is None or result >= 0


@pytest.mark.parametrize(
    ("host", "no_proxy", "bypass"),
    [
        ("127.0.0.1:5000", None, True),
        ("quay.io", None, False),
        ("quay.io", "example.com,quay.io", True),
        ("cdn.quay.io:443", ".quay.io", True),
        ("notquay.io", "quay.io", False),
        ("anything", "*", True),
    ],
)
def test_proxy_bypass(host: str, no_proxy: str | None, bypass: bool) -> None:
    from konflux_supply.oci._transport import _bypass_proxy

    assert _bypass_proxy(host, no_proxy) is bypass


def test_a_deadline_already_spent_is_a_registry_error_before_the_first_request() -> None:
    # with plain HTTP allowed the first call probes HTTPS: it must not get a negative timeout
    import time

    spent = RetryPolicy(attempts=1, deadline=time.monotonic() - 1)
    registry, adapter, _ = make(lambda s: manifest_answer(), retry=spent, allow_http_any=True)
    with pytest.raises(RegistryError, match="deadline has passed"):
        registry.get_manifest("ns/app", DIGEST)
    assert adapter.seen == []
