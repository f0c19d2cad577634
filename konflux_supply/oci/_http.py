"""The OCI distribution API on ``requests`` (:class:`HttpRegistry`).

Manifests are fetched with a full ``Accept`` header and checked against the digest asked for
(and ``Docker-Content-Digest``); blobs are read with a size cap and digest-checked; uploads
are monolithic or chunked (``PATCH`` with ``Content-Range``), retried as a whole, with
cross-repository mounts; tag and referrers listings follow ``Link`` pagination. Transport,
auth and retries live in :mod:`._transport`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from urllib.parse import urlencode, urljoin, urlsplit

import requests

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import (
    OCI_INDEX,
    Descriptor,
    ImageIndex,
    RawManifest,
    is_digest,
    parse_manifest,
)
from konflux_supply.oci._transport import (
    ACCEPT_MANIFESTS,
    Transient,
    Transport,
    decimal,
    describe,
    error_from,
    new_hasher,
)
from konflux_supply.oci.registry import PutResult, SizeLimitExceeded, TransientError

__all__ = ["ACCEPT_MANIFESTS", "PROBE_ABOVE", "HttpRegistry"]

#: Blobs larger than this are looked for (HEAD) before they are uploaded; smaller ones are sent.
PROBE_ABOVE = 64 * 1024


class HttpRegistry(Transport):
    """A registry host: the :class:`~konflux_supply.oci.registry.Registry` protocol over HTTP."""

    def get_manifest(
        self, repository: str, reference: str, *, accept: str = ACCEPT_MANIFESTS
    ) -> RawManifest | None:
        """GET a manifest or index by tag or digest; ``None`` if it does not exist."""
        limit = self.options.limits.max_manifest_bytes
        by_digest = is_digest(reference)

        def read(response: requests.Response) -> RawManifest:
            data = self._read(response, limit=limit, size=None, what="manifest")
            algorithm = reference.split(":", 1)[0] if by_digest else "sha256"
            hasher = new_hasher(f"{algorithm}:")
            hasher.update(data)
            digest = f"{algorithm}:{hasher.hexdigest()}"
            if by_digest and digest != reference:
                raise Transient(f"content digest {digest} does not match the requested digest")
            header = response.headers.get("Docker-Content-Digest") or ""
            same_algorithm = header.split(":")[0] == algorithm
            if header and is_digest(header) and same_algorithm and header != digest:
                raise Transient(
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
        length = decimal(response.headers.get("Content-Length"))
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        if not is_digest(digest) or length is None or not media_type:
            raise RegistryError(
                "HEAD manifest answered without a digest, size or media type", url=response.url
            )
        if is_digest(reference) and digest != reference:
            raise RegistryError(
                f"HEAD manifest reported digest {digest}, not the one asked for", url=response.url
            )
        return Descriptor(media_type=media_type, size=length, digest=digest)

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        """GET a blob, capped at ``min(limit, descriptor.size)`` and checked against its digest."""
        if descriptor.size > limit:
            raise SizeLimitExceeded(
                f"blob {descriptor.digest} is {descriptor.size} bytes, more than the limit "
                f"of {limit}"
            )

        def read(response: requests.Response) -> bytes:
            data = self._read(response, limit=limit, size=descriptor.size, what="blob")
            hasher = new_hasher(descriptor.digest)
            hasher.update(data)
            got = f"{descriptor.digest.split(':')[0]}:{hasher.hexdigest()}"
            if got != descriptor.digest:
                raise Transient(f"content digest {got} does not match {descriptor.digest}")
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
        try:
            response = self._send(
                "GET",
                self._url(f"/v2/{repository}/blobs/{descriptor.digest}"),
                scope=f"repository:{repository}:pull",
                auth=True,
                headers=None,
            )
        except requests.exceptions.RequestException as error:
            raise RegistryError(f"reading blob {descriptor.digest}: {describe(error)}") from None
        try:
            if response.status_code != 200:
                raise error_from(response, f"GET blob {repository}@{descriptor.digest}")
            hasher = new_hasher(descriptor.digest)
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
            raise RegistryError(f"reading blob {descriptor.digest}: {describe(error)}") from None
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
                if not isinstance(page, list) or not all(isinstance(t, str) for t in page):
                    raise TypeError
            except (ValueError, AttributeError, TypeError, RecursionError):
                raise RegistryError("the registry returned a malformed tag list") from None
            tags.extend(page)
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
            if pages > self.options.limits.max_referrers + 1:
                # Every page but the last holds a referrer: more pages than that never end.
                raise SizeLimitExceeded(f"referrers pagination of {digest} does not end")
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
        except Transient as transient:
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
        """Upload a blob (monolithic, or chunked above ``chunk_size``) unless it exists.

        Blobs of up to :data:`PROBE_ABOVE` bytes are sent without asking first: for the fresh
        signatures, envelopes and configs that make up most writes the HEAD always answers
        404, it costs a round trip, and re-sending a small blob the registry already holds is
        harmless (content addressed). Larger blobs are looked for first.
        """
        hasher = new_hasher(digest or "sha256:")
        hasher.update(data)
        actual = f"{(digest or 'sha256:').split(':')[0]}:{hasher.hexdigest()}"
        if digest and digest != actual:
            raise InputError(f"blob content does not match digest {digest}")
        if len(data) > PROBE_ABOVE and self.has_blob(repository, actual):
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
            except Transient as transient:
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
        hasher = new_hasher(digest)
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
            with suppress(RegistryError, Transient):
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
        try:
            return urljoin(response.url, location)
        except ValueError:
            raise RegistryError(f"unusable upload Location {location[:200]!r}") from None


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-cut a byte stream into pieces of ``size`` (the last may be shorter).

    A :class:`RegistryError` from the source becomes :class:`Transient`, so that the upload
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
        raise Transient(f"reading the source: {error.summary()}") from None
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
    try:
        return urljoin(base + "/", link)
    except ValueError:
        raise RegistryError(f"unusable pagination Link {link[:200]!r}") from None
