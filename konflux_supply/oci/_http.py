"""The OCI distribution API on ``requests``: one session (connection pool) per registry.

Every request passes ``verify=`` explicitly (``REQUESTS_CA_BUNDLE`` cannot override it) and the
session ignores the environment. Transient failures (429, 5xx, resets, truncated or corrupt
bodies) are retried with exponential backoff and full jitter, honouring ``Retry-After``;
when retries run out the error names the last cause. Every manifest and blob is checked
against the digest asked for and read with a size cap, never buffered past it.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import certifi
import requests
import requests.adapters

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    RawManifest,
    is_digest,
    parse_manifest,
)
from konflux_supply.oci._auth import Authenticator, denied
from konflux_supply.oci.options import RegistryOptions
from konflux_supply.oci.reference import is_loopback
from konflux_supply.oci.registry import PutResult, SizeLimitExceeded, TransientError

__all__ = ["ACCEPT_MANIFESTS", "HttpRegistry"]

ACCEPT_MANIFESTS = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_READ_CHUNK = 64 * 1024


class _Transient(Exception):
    """A failure worth retrying; ``cause`` is what the final error will say."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def _hasher(digest: str) -> Any:
    return hashlib.sha512() if digest.startswith("sha512:") else hashlib.sha256()


def _describe(error: BaseException) -> str:
    text = str(error)
    for marker in ("Connection reset", "Connection refused", "Connection aborted", "timed out"):
        if marker in text:
            return f"{marker.lower()} ({type(error).__name__})"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-body (truncated response)"
    if isinstance(error, requests.exceptions.Timeout):
        return "request timed out"
    return f"{type(error).__name__}: {text[:200]}"


def _bypass_proxy(host: str, no_proxy: str | None) -> bool:
    """Loopback registries, and hosts matching ``no_proxy``, are reached directly."""
    if is_loopback(host):
        return True
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    for entry in (no_proxy or "").replace(" ", "").split(","):
        entry = entry.lstrip(".")
        if entry == "*" or (entry and (name == entry or name.endswith("." + entry))):
            return True
    return False


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def _peek(response: requests.Response, limit: int = 65536) -> bytes:
    """At most ``limit`` bytes of a (streamed) body, for error messages."""
    buffer = bytearray()
    with suppress(requests.exceptions.RequestException):
        for chunk in response.iter_content(8192):
            buffer += chunk
            if len(buffer) >= limit:
                break
    return bytes(buffer[:limit])


def _error_from(response: requests.Response, what: str) -> RegistryError:
    code = None
    message = ""
    with suppress(ValueError, AttributeError, TypeError, IndexError, KeyError):
        body = json.loads(_peek(response))
        first = body["errors"][0]
        code = str(first.get("code") or "") or None
        message = str(first.get("message") or "")
    reason = response.reason or ""
    text = f"{what} failed" + (f": {message}" if message else f": {reason}" if reason else "")
    if response.status_code == 403:
        text = f"{what}: access denied" + (f" ({message})" if message else "")
    return RegistryError(text, status=response.status_code, url=response.url, code=code)


class HttpRegistry:
    """A registry host spoken to over HTTPS (or HTTP when allowed for it).

    Thread-safe: one instance (one connection pool, one auth state) serves all threads.
    """

    def __init__(
        self,
        host: str,
        options: RegistryOptions,
        *,
        adapter: requests.adapters.BaseAdapter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.host = host
        self.options = options
        self._sleep = sleep
        session = requests.Session()
        session.trust_env = False
        if options.proxies and not _bypass_proxy(host, options.proxies.get("no_proxy")):
            session.proxies.update(
                {k: v for k, v in options.proxies.items() if k in ("http", "https")}
            )
        session.headers["User-Agent"] = options.user_agent
        transport = adapter or requests.adapters.HTTPAdapter(
            pool_connections=2, pool_maxsize=options.pool_size, max_retries=0
        )
        session.mount("https://", transport)
        session.mount("http://", transport)
        self._session = session
        if options.insecure_skip_tls_verify:
            self._verify: bool | str = False
        else:
            self._verify = options.ca_file or certifi.where()
        self._base: str | None = None
        self._base_lock = threading.Lock()
        self._auth = Authenticator(host, options.credentials_for(host), self._plain_fetch)
        self._timeout = options.retry.timeout

    @property
    def name(self) -> str:
        return self.host

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    # -- transport ------------------------------------------------------------------------

    def _http_allowed(self) -> bool:
        return self.options.allow_http_any or (self.options.allow_http and is_loopback(self.host))

    def base_url(self) -> str:
        """``https://host`` or, when allowed and HTTPS does not answer, ``http://host``."""
        if self._base is not None:
            return self._base
        with self._base_lock:
            if self._base is None:
                base = f"https://{self.host}"
                if self._http_allowed():
                    try:
                        self._session.get(
                            f"{base}/v2/", verify=self._verify, timeout=min(self._timeout, 5)
                        ).close()
                    except requests.exceptions.RequestException:
                        base = f"http://{self.host}"
                self._base = base
        return self._base

    def _url(self, path: str) -> str:
        return path if "://" in path else self.base_url() + path

    def _plain_fetch(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A request without registry auth (token service), with the retry policy."""

        def read(response: requests.Response) -> bytes:
            data = self._read(response, limit=1024 * 1024, size=None, what="token response")
            response._content = data  # so that .json() works after the response is closed
            return data

        response, _ = self._call(
            method, url, auth=False, ok=range(200, 600), reader=read, what="token request", **kwargs
        )
        return response

    def _ping(self) -> None:
        """GET /v2/ to learn how the registry authenticates, before sending a body."""
        try:
            response = self._session.get(
                self._url("/v2/"), verify=self._verify, timeout=self._timeout, stream=True
            )
        except requests.exceptions.RequestException as error:
            raise _Transient(f"ping: {_describe(error)}") from None
        with response:
            if response.status_code == 401:
                self._auth.learn(response)
            elif response.status_code < 400:
                self._auth.note_open()

    def _send(
        self,
        method: str,
        url: str,
        *,
        scope: str | None,
        auth: bool,
        headers: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> requests.Response:
        request_headers = dict(headers or {})
        sent = self._auth.authorization(scope) if auth else None
        if sent:
            request_headers["Authorization"] = sent
        response = self._session.request(
            method,
            url,
            headers=request_headers,
            verify=self._verify,
            timeout=self._timeout,
            stream=True,
            **kwargs,
        )
        if response.status_code != 401 or not auth:
            if auth and sent is None and response.status_code < 400:
                self._auth.note_open()
            return response
        response.close()
        if sent is None:
            self._auth.learn(response)
            retry_with = self._auth.authorization(scope)
            if retry_with is None:
                raise self._auth.missing_credentials(response.url)
        else:
            retry_with = self._auth.refused(response, sent, scope)
        request_headers["Authorization"] = retry_with
        response = self._session.request(
            method,
            url,
            headers=request_headers,
            verify=self._verify,
            timeout=self._timeout,
            stream=True,
            **kwargs,
        )
        if response.status_code == 401:
            response.close()
            raise denied(response, self._auth.credentials)
        return response

    def _call(
        self,
        method: str,
        path: str,
        *,
        scope: str | None = None,
        headers: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200,),
        missing_ok: bool = False,
        reader: Callable[[requests.Response], Any] | None = None,
        retry: bool = True,
        auth: bool = True,
        what: str | None = None,
        **kwargs: Any,
    ) -> tuple[requests.Response, Any]:
        """Send with retries; return the response (closed) and what ``reader`` made of it.

        A 404 returns ``(response, None)`` when ``missing_ok``; other unexpected statuses
        raise :class:`RegistryError`. With ``retry=False`` a transient failure raises
        :class:`_Transient` for the caller's own retry loop.
        """
        policy = self.options.retry
        attempts = policy.attempts if retry else 1
        url = self._url(path)
        accepted = set(ok)
        label = what or f"{method} {urlsplit(url).path}"
        cause = "no attempt made"
        delay = 0.0
        for attempt in range(attempts):
            if attempt:
                self._sleep(delay)
            delay = self._backoff(attempt)
            try:
                response = self._send(
                    method, url, scope=scope, auth=auth, headers=headers, **kwargs
                )
            except requests.exceptions.SSLError as error:
                if "CERTIFICATE_VERIFY_FAILED" in str(error) or "certificate" in str(error):
                    raise RegistryError(
                        f"TLS certificate verification failed for {self.host}",
                        url=url,
                        hint="pass the registry's CA with --registry-cacert",
                    ) from None
                cause = _describe(error)
                continue
            except requests.exceptions.InvalidURL as error:
                raise InputError(f"invalid registry URL {url!r}: {error}") from None
            except requests.exceptions.RequestException as error:
                cause = _describe(error)
                continue
            try:
                status = response.status_code
                if status in _RETRY_STATUSES:
                    cause = f"{label}: HTTP {status} {response.reason or ''}".rstrip()
                    wait = _retry_after(response)
                    if wait is not None:
                        if wait > policy.max_retry_after:
                            raise RegistryError(
                                f"{label}: the registry asked to retry after {wait:.0f} s "
                                f"(more than {policy.max_retry_after:.0f} s)",
                                status=status,
                                url=url,
                            )
                        delay = wait + random.uniform(0, 0.1)
                    continue
                if status == 404 and missing_ok:
                    return response, None
                if status not in accepted:
                    raise _error_from(response, label)
                value = reader(response) if reader is not None else None
                return response, value
            except _Transient as transient:
                cause = f"{label}: {transient.cause}"
                continue
            except requests.exceptions.RequestException as error:
                cause = f"{label}: {_describe(error)}"
                continue
            finally:
                response.close()
        if not retry:
            raise _Transient(cause)
        raise RegistryError(
            f"{cause} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})", url=url
        )

    def _backoff(self, attempt: int) -> float:
        policy = self.options.retry
        ceiling = min(policy.max_backoff, policy.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    # -- reading --------------------------------------------------------------------------

    def _read(
        self, response: requests.Response, *, limit: int, size: int | None, what: str
    ) -> bytes:
        maximum = limit if size is None else min(limit, size)
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > maximum:
            if size is not None and int(length) > size:
                raise _Transient(f"served {length} bytes, the descriptor says {size}")
            raise SizeLimitExceeded(
                f"{what} is {length} bytes, more than the limit of {limit}", url=response.url
            )
        buffer = bytearray()
        for chunk in response.iter_content(_READ_CHUNK):
            buffer += chunk
            if len(buffer) > maximum:
                if size is not None and len(buffer) > size:
                    raise _Transient(f"served more bytes than the descriptor's size {size}")
                raise SizeLimitExceeded(
                    f"{what} is larger than the limit of {limit} bytes", url=response.url
                )
        if size is not None and len(buffer) != size:
            raise _Transient(f"served {len(buffer)} bytes, the descriptor says {size}")
        return bytes(buffer)

    def get_manifest(
        self, repository: str, reference: str, *, accept: str = ACCEPT_MANIFESTS
    ) -> RawManifest | None:
        """GET a manifest or index by tag or digest; ``None`` if it does not exist."""
        limit = self.options.limits.max_manifest_bytes
        by_digest = is_digest(reference)

        def read(response: requests.Response) -> RawManifest:
            data = self._read(response, limit=limit, size=None, what="manifest")
            algorithm = reference.split(":", 1)[0] if by_digest else "sha256"
            hasher = _hasher(f"{algorithm}:")
            hasher.update(data)
            digest = f"{algorithm}:{hasher.hexdigest()}"
            if by_digest and digest != reference:
                raise _Transient(f"content digest {digest} does not match the requested digest")
            header = response.headers.get("Docker-Content-Digest") or ""
            same_algorithm = header.split(":")[0] == algorithm
            if header and is_digest(header) and same_algorithm and header != digest:
                raise _Transient(
                    f"Docker-Content-Digest {header} does not match the content ({digest})"
                )
            try:
                return parse_manifest(
                    data, response.headers.get("Content-Type"), digest=digest, source=response.url
                )
            except InputError as error:
                raise RegistryError(
                    f"the registry returned an invalid manifest: {error.summary()}",
                    url=response.url,
                ) from None

        _, manifest = self._call(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            headers={"Accept": accept},
            missing_ok=True,
            reader=read,
            what=f"GET manifest {repository}:{reference}",
        )
        return manifest  # type: ignore[no-any-return]

    def head_manifest(self, repository: str, reference: str) -> Descriptor | None:
        """HEAD a manifest: its descriptor (from headers), or ``None`` if missing."""
        response, _ = self._call(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            headers={"Accept": ACCEPT_MANIFESTS},
            missing_ok=True,
            what=f"HEAD manifest {repository}:{reference}",
        )
        if response.status_code == 404:
            return None
        digest = response.headers.get("Docker-Content-Digest", "")
        length = response.headers.get("Content-Length", "")
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        if not is_digest(digest) or not length.isdigit() or not media_type:
            raise RegistryError(
                "HEAD manifest answered without a digest, size or media type", url=response.url
            )
        if is_digest(reference) and digest != reference:
            raise RegistryError(
                f"HEAD manifest reported digest {digest}, not the one asked for", url=response.url
            )
        return Descriptor(media_type=media_type, size=int(length), digest=digest)

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        """GET a blob, capped at ``min(limit, descriptor.size)`` and checked against its digest."""
        if descriptor.size > limit:
            raise SizeLimitExceeded(
                f"blob {descriptor.digest} is {descriptor.size} bytes, more than the limit "
                f"of {limit}"
            )

        def read(response: requests.Response) -> bytes:
            data = self._read(response, limit=limit, size=descriptor.size, what="blob")
            hasher = _hasher(descriptor.digest)
            hasher.update(data)
            got = f"{descriptor.digest.split(':')[0]}:{hasher.hexdigest()}"
            if got != descriptor.digest:
                raise _Transient(f"content digest {got} does not match {descriptor.digest}")
            return data

        _, data = self._call(
            "GET",
            f"/v2/{repository}/blobs/{descriptor.digest}",
            scope=f"repository:{repository}:pull",
            reader=read,
            what=f"GET blob {repository}@{descriptor.digest}",
        )
        return data  # type: ignore[no-any-return]

    def iter_blob(self, repository: str, descriptor: Descriptor) -> Iterator[bytes]:
        """Stream a blob; raises at the end (before the last chunk) if size or digest differ."""
        response = self._send(
            "GET",
            self._url(f"/v2/{repository}/blobs/{descriptor.digest}"),
            scope=f"repository:{repository}:pull",
            auth=True,
            headers=None,
        )
        try:
            if response.status_code != 200:
                raise _error_from(response, f"GET blob {repository}@{descriptor.digest}")
            hasher = _hasher(descriptor.digest)
            seen = 0
            pending: bytes | None = None
            for chunk in response.iter_content(1024 * 1024):
                seen += len(chunk)
                if seen > descriptor.size:
                    raise RegistryError(f"blob {descriptor.digest} is longer than its descriptor")
                hasher.update(chunk)
                if pending is not None:
                    yield pending
                pending = chunk
            got = f"{descriptor.digest.split(':')[0]}:{hasher.hexdigest()}"
            if seen != descriptor.size or got != descriptor.digest:
                raise RegistryError(
                    f"blob {descriptor.digest} arrived with size {seen} and digest {got}",
                    url=response.url,
                )
            if pending is not None:
                yield pending
        except requests.exceptions.RequestException as error:
            raise RegistryError(f"reading blob {descriptor.digest}: {_describe(error)}") from None
        finally:
            response.close()

    def has_blob(self, repository: str, digest: str) -> bool:
        """HEAD a blob."""
        response, _ = self._call(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scope=f"repository:{repository}:pull",
            missing_ok=True,
            what=f"HEAD blob {repository}@{digest}",
        )
        return response.status_code == 200

    def list_tags(self, repository: str) -> list[str]:
        """All tags of a repository, following ``Link`` pagination."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        pages = 0
        while path is not None and pages < 10000:
            pages += 1
            response, body = self._call(
                "GET",
                path,
                scope=f"repository:{repository}:pull",
                missing_ok=True,
                reader=lambda r: self._read(r, limit=32 * 1024 * 1024, size=None, what="tags"),
                what=f"list tags of {repository}",
            )
            if body is None:
                return tags
            try:
                page = json.loads(body).get("tags") or []
            except (ValueError, AttributeError):
                raise RegistryError("the registry returned a malformed tag list") from None
            tags.extend(str(tag) for tag in page)
            path = _next_link(response, self.base_url())
        return tags

    def referrers(
        self, repository: str, digest: str, *, artifact_type: str | None = None
    ) -> ImageIndex | None:
        """The referrers API listing for ``digest``; ``None`` if the registry has no such API."""
        query = f"?{urlencode({'artifactType': artifact_type})}" if artifact_type else ""
        path: str | None = f"/v2/{repository}/referrers/{digest}{query}"
        limit = self.options.limits.max_manifest_bytes
        manifests: list[Descriptor] = []
        pages = 0
        while path is not None:
            pages += 1
            response, body = self._call(
                "GET",
                path,
                scope=f"repository:{repository}:pull",
                headers={"Accept": OCI_INDEX},
                ok=(200, 400, 404, 406),
                reader=lambda r: (
                    self._read(r, limit=limit, size=None, what="referrers")
                    if r.status_code == 200
                    else None
                ),
                what=f"list referrers of {repository}@{digest}",
            )
            content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
            if response.status_code != 200 or content_type != OCI_INDEX:
                if pages == 1:
                    return None
                raise RegistryError("referrers pagination broke off", url=response.url)
            try:
                page = parse_manifest(body, content_type, source=response.url)
            except InputError as error:
                raise RegistryError(
                    f"malformed referrers index: {error.summary()}", url=response.url
                ) from None
            manifests.extend(page.index.manifests)
            if len(manifests) > self.options.limits.max_referrers:
                raise SizeLimitExceeded(
                    f"more than {self.options.limits.max_referrers} referrers of {digest}"
                )
            path = _next_link(response, self.base_url())
        if artifact_type:
            manifests = [d for d in manifests if d.artifact_type == artifact_type]
        return ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=manifests)

    # -- writing --------------------------------------------------------------------------

    def put_manifest(
        self, repository: str, reference: str, manifest: RawManifest, *, retry: bool = True
    ) -> PutResult:
        """PUT exact manifest bytes under a tag or their digest."""
        if is_digest(reference) and reference != manifest.digest:
            raise InputError(f"manifest digest {manifest.digest} is not {reference}")
        try:
            response, _ = self._call(
                "PUT",
                f"/v2/{repository}/manifests/{reference}",
                scope=f"repository:{repository}:pull,push",
                headers={"Content-Type": manifest.media_type},
                data=manifest.data,
                ok=(200, 201, 202),
                retry=retry,
                what=f"PUT manifest {repository}:{reference}",
            )
        except _Transient as transient:
            raise TransientError(transient.cause) from None
        stored = response.headers.get("Docker-Content-Digest")
        if stored and is_digest(stored) and stored != manifest.digest:
            raise RegistryError(
                f"the registry stored the manifest as {stored}, not {manifest.digest}",
                url=response.url,
            )
        return PutResult(manifest.digest, bool(response.headers.get("OCI-Subject")))

    def delete_manifest(self, repository: str, digest: str) -> None:
        """DELETE a manifest by digest (404 is fine)."""
        self._call(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:pull,push,delete",
            ok=(200, 202),
            missing_ok=True,
            what=f"DELETE manifest {repository}@{digest}",
        )

    def put_blob(
        self,
        repository: str,
        data: bytes,
        *,
        digest: str | None = None,
        mount_from: str | None = None,
    ) -> str:
        """Upload a blob (monolithic, or chunked above ``chunk_size``) unless it exists."""
        hasher = _hasher(digest or "sha256:")
        hasher.update(data)
        actual = f"{(digest or 'sha256:').split(':')[0]}:{hasher.hexdigest()}"
        if digest and digest != actual:
            raise InputError(f"blob content does not match digest {digest}")
        if self.has_blob(repository, actual):
            return actual

        def chunks() -> Iterator[bytes]:
            step = self.options.chunk_size
            for start in range(0, len(data), step):
                yield data[start : start + step]

        self.upload(repository, actual, len(data), chunks, mount_from=mount_from)
        return actual

    def upload(
        self,
        repository: str,
        digest: str,
        size: int,
        open_chunks: Callable[[], Iterable[bytes]],
        *,
        mount_from: str | None = None,
    ) -> None:
        """Upload a blob from a re-openable chunk source; retried as a whole on failure."""
        policy = self.options.retry
        cause = ""
        for attempt in range(policy.attempts):
            if attempt:
                self._sleep(self._backoff(attempt))
                if self.has_blob(repository, digest):
                    return
            try:
                chunks = _rechunk(open_chunks(), self.options.chunk_size)
                self._upload_once(repository, digest, size, chunks, mount_from)
                return
            except _Transient as transient:
                cause = transient.cause
        raise RegistryError(f"upload of {digest} failed: {cause} (gave up after retries)")

    def _upload_once(
        self,
        repository: str,
        digest: str,
        size: int,
        chunks: Iterable[bytes],
        mount_from: str | None,
    ) -> None:
        scope = f"repository:{repository}:pull,push"
        if mount_from and mount_from != repository:
            scope += f" repository:{mount_from}:pull"
        if not self._auth.known:
            # Learn the auth scheme before sending a body, so it goes out once, authorised.
            self._ping()
        start = f"/v2/{repository}/blobs/uploads/"
        if mount_from and mount_from != repository:
            start += "?" + urlencode({"mount": digest, "from": mount_from})
        response, _ = self._call(
            "POST", start, scope=scope, ok=(201, 202), retry=False, what="start upload"
        )
        if response.status_code == 201:
            return  # mounted
        location = self._location(response)
        single: bytes | None = None
        iterator = iter(chunks)
        first = next(iterator, b"")
        second = next(iterator, None)
        if second is None:
            single = first
        if single is not None:
            self._call(
                "PUT",
                _with_query(location, {"digest": digest}),
                scope=scope,
                headers={"Content-Type": "application/octet-stream"},
                data=single,
                ok=(201, 204),
                retry=False,
                what=f"upload {digest}",
            )
            return
        offset = 0
        hasher = _hasher(digest)
        for chunk in _chain(first, second, iterator):
            hasher.update(chunk)
            response, _ = self._call(
                "PATCH",
                location,
                scope=scope,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                },
                data=chunk,
                ok=(202,),
                retry=False,
                what=f"upload chunk of {digest}",
            )
            offset += len(chunk)
            location = self._location(response)
        got = f"{digest.split(':')[0]}:{hasher.hexdigest()}"
        if got != digest or offset != size:
            with suppress(RegistryError, _Transient):
                self._call("DELETE", location, scope=scope, ok=(204, 404), retry=False)
            raise RegistryError(f"upload source for {digest} produced {got} ({offset} bytes)")
        self._call(
            "PUT",
            _with_query(location, {"digest": digest}),
            scope=scope,
            headers={"Content-Type": "application/octet-stream"},
            ok=(201, 204),
            retry=False,
            what=f"finish upload {digest}",
        )

    def _location(self, response: requests.Response) -> str:
        location = response.headers.get("Location")
        if not location:
            raise RegistryError("upload response has no Location header", url=response.url)
        return urljoin(response.url, location)


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a byte stream into pieces of ``size`` (the last may be shorter).

    A :class:`RegistryError` from the source becomes :class:`_Transient`, so that the upload
    is retried as a whole with a fresh source.
    """
    buffer = bytearray()
    try:
        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= size:
                yield bytes(buffer[:size])
                del buffer[:size]
    except RegistryError as error:
        raise _Transient(f"reading the source: {error.summary()}") from None
    if buffer:
        yield bytes(buffer)


def _chain(first: bytes, second: bytes | None, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    if second is not None:
        yield second
    yield from rest


def _with_query(url: str, extra: Mapping[str, str]) -> str:
    separator = "&" if urlsplit(url).query else "?"
    return f"{url}{separator}{urlencode(dict(extra))}"


def _next_link(response: requests.Response, base: str) -> str | None:
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    return urljoin(base + "/", link)
