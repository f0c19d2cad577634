"""The HTTP transport under the distribution API client: one session (pool) per registry.

Every request passes ``verify=`` explicitly (``REQUESTS_CA_BUNDLE`` cannot override it) and the
session ignores the environment. Credentials go to the registry's own origin only: a
``Location`` or ``Link`` to another host is followed without them (as go-containerregistry
does), a plain ``http://`` URL on the registry's host is upgraded to the registry's scheme, and
plain HTTP to another host (a token realm included) is refused unless allowed for that host.
Transient failures (429, 5xx, resets, truncated or corrupt bodies) are retried with
exponential backoff and full jitter, honouring ``Retry-After``; when retries run out the error
names the last cause. Every manifest and blob is checked against the digest asked for and read
with a size cap, never buffered past it.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import certifi
import requests
import requests.adapters

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.models.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
)
from konflux_supply.oci._auth import Authenticator, denied
from konflux_supply.oci.options import Limits, RegistryOptions
from konflux_supply.oci.reference import is_loopback
from konflux_supply.oci.registry import SizeLimitExceeded

__all__ = [
    "ACCEPT_MANIFESTS",
    "Transient",
    "Transport",
    "decimal",
    "describe",
    "error_from",
    "new_hasher",
]

ACCEPT_MANIFESTS = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_READ_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Transient(Exception):
    """A failure worth retrying; ``cause`` is what the final error will say."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def new_hasher(digest: str) -> Any:
    return hashlib.sha512() if digest.startswith("sha512:") else hashlib.sha256()


_NOT_RESOLVED = (
    "NameResolutionError",
    "Failed to resolve",
    "Name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "Temporary failure in name resolution",
)


def describe(error: BaseException) -> str:
    """A transport failure in our words (one line; never requests' pool dump)."""
    text = str(error)
    if any(marker in text for marker in _NOT_RESOLVED):
        return "the host name does not resolve (DNS)"
    for marker in ("Connection reset", "Connection refused", "Connection aborted", "timed out"):
        if marker in text:
            return f"{marker.lower()} ({type(error).__name__})"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "connection broken mid-body (truncated response)"
    if isinstance(error, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(error, requests.exceptions.ProxyError):
        return "the proxy refused or failed the connection"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "cannot connect (ConnectionError)"
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


def decimal(value: str | None) -> int | None:
    """An HTTP header's non-negative decimal integer (ASCII digits only: ``'²'.isdigit()``)."""
    text = (value or "").strip()
    if text and text.isascii() and text.isdigit():
        return int(text)
    return None


def _authority(parts: SplitResult, scheme: str) -> tuple[str, int | None]:
    """Host and port, the port defaulting to ``scheme``'s (ggcr's ``canonicalAddress``)."""
    try:
        port = parts.port
    except ValueError:
        port = -1
    return (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS[scheme]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    seconds = decimal(value)
    if seconds is not None:
        return float(seconds)
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


def error_from(response: requests.Response, what: str) -> RegistryError:
    code = None
    message = ""
    with suppress(ValueError, AttributeError, TypeError, IndexError, KeyError, RecursionError):
        body = json.loads(_peek(response))
        first = body["errors"][0]
        code = str(first.get("code") or "") or None
        message = str(first.get("message") or "")
    reason = response.reason or ""
    text = f"{what} failed" + (f": {message}" if message else f": {reason}" if reason else "")
    if response.status_code == 403:
        text = f"{what}: access denied" + (f" ({message})" if message else "")
    return RegistryError(text, status=response.status_code, url=response.url, code=code)


class Transport:
    """Requests to one registry host over HTTPS (or HTTP when allowed for it): auth, retries,
    capped reads. Thread-safe: one instance (one connection pool, one auth state) per host.
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

    @property
    def name(self) -> str:
        return self.host

    @property
    def limits(self) -> Limits:
        return self.options.limits

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    # -- transport ------------------------------------------------------------------------

    def _http_allowed(self, host: str | None = None) -> bool:
        target = self.host if host is None else host
        return self.options.allow_http_any or (self.options.allow_http and is_loopback(target))

    def _route(self, url: str) -> tuple[str, bool]:
        """The URL to request, and whether it is the registry's own origin (the only one that
        gets credentials). Plain HTTP elsewhere is refused unless allowed for that host."""
        base = urlsplit(self.base_url())
        try:
            target = urlsplit(url)
            scheme = target.scheme.lower()
            usable = scheme in _DEFAULT_PORTS and bool(target.hostname)
        except ValueError:
            usable = False
        if not usable:
            raise RegistryError(f"the registry sent us to an unusable URL {url[:200]!r}")
        if _authority(target, base.scheme) == _authority(base, base.scheme):
            return urlunsplit(target._replace(scheme=base.scheme, netloc=base.netloc)), True
        if scheme == "http" and not self._http_allowed(target.hostname):
            raise RegistryError(
                f"refusing plain HTTP to {target.hostname} (where {self.host} sent us)",
                hint="--allow-http-registry-anywhere allows it",
            )
        return urlunsplit(target._replace(scheme=scheme)), False

    def _ours(self, url: str) -> bool:
        """Whether a URL the registry answered from is exactly its origin (scheme included).

        Not :meth:`_route`: that one rewrites a URL we are about to send (upgrading
        ``http://`` on the registry's host, refusing plain HTTP elsewhere); this one only
        judges a URL, and a scheme change means "not ours" (no auth retry, other blame).
        """
        base = urlsplit(self.base_url())
        try:
            target = urlsplit(url)
            same = _authority(target, base.scheme) == _authority(base, base.scheme)
        except ValueError:
            return False
        return same and target.scheme.lower() == base.scheme

    def base_url(self) -> str:
        """``https://host`` or, when allowed and HTTPS does not answer, ``http://host``."""
        if self._base is not None:
            return self._base
        with self._base_lock:
            if self._base is None:
                base = f"https://{self.host}"
                if self._http_allowed():
                    timeout = min(self._timeout(), 5)
                    if timeout <= 0:
                        raise RegistryError(
                            f"no time left to reach {self.host}: the deadline has passed",
                            hint="raise --timeout",
                        )
                    try:
                        self._session.get(
                            f"{base}/v2/", verify=self._verify, timeout=timeout
                        ).close()
                    except requests.exceptions.SSLError as error:
                        # A TLS registry with a certificate we do not trust stays HTTPS (and
                        # fails with a clear certificate error); a plain HTTP one does not
                        # speak TLS at all.
                        if "CERTIFICATE_VERIFY_FAILED" not in str(error):
                            base = f"http://{self.host}"
                    except requests.exceptions.RequestException:
                        base = f"http://{self.host}"
                self._base = base
        return self._base

    def _url(self, path: str) -> str:
        if path.startswith("/") and not path.startswith("//"):
            return self.base_url() + path
        return urljoin(self.base_url() + "/", path)  # absolute, or relative to the registry

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
                self._url("/v2/"), verify=self._verify, timeout=self._timeout(), stream=True
            )
        except requests.exceptions.RequestException as error:
            raise Transient(f"ping: {describe(error)}") from None
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
        url, ours = self._route(url)
        auth = auth and ours

        def request() -> requests.Response:
            response = self._session.request(
                method,
                url,
                headers=request_headers,
                verify=self._verify,
                timeout=self._timeout(),
                stream=True,
                **kwargs,
            )
            self._check_redirects(response)
            return response

        sent = self._auth.authorization(scope) if auth else None
        if sent:
            request_headers["Authorization"] = sent
        response = request()
        if response.status_code != 401 or not auth or not self._ours(response.url):
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
        response = request()
        if response.status_code == 401:
            response.close()
            raise denied(response, self._auth.credentials)
        return response

    def _check_redirects(self, response: requests.Response) -> None:
        """Redirects may leave the registry (blob storage), never to plain HTTP unless allowed
        (``requests`` already drops ``Authorization`` when the host or scheme changes)."""
        if not response.history:
            return
        target = urlsplit(response.url)
        if target.scheme.lower() == "http" and not self._http_allowed(target.hostname or ""):
            response.close()
            raise RegistryError(
                f"refusing a redirect to plain HTTP ({target.hostname})", url=response.url
            )

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
        :class:`Transient` for the caller's own retry loop.
        """
        policy = self.options.retry
        attempts = policy.attempts if retry else 1
        url = self._url(path)
        accepted = set(ok)
        label = what or f"{method} {urlsplit(url).path}"
        cause = "no answer before the deadline"
        delay = 0.0
        for attempt in range(attempts):
            if attempt:
                left = policy.remaining(time.monotonic())
                if left is not None and left <= delay:
                    break
                if policy.on_retry is not None:
                    detail = cause.removeprefix(f"{label}: ")
                    policy.on_retry(
                        f"{label} ({self.host}) failed: {detail}; retrying "
                        f"(attempt {attempt + 1} of {attempts})"
                    )
                self._sleep(delay)
            delay = self._backoff(attempt)
            if self._timeout() <= 0:
                break
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
                if _not_tls(error):
                    raise RegistryError(
                        f"{self.host} does not speak TLS (a plain HTTP registry?)",
                        url=url,
                        hint="plain HTTP must be allowed: --allow-http-registry for a loopback "
                        "registry, --allow-http-registry-anywhere for any other",
                    ) from None
                cause = describe(error)
                continue
            except requests.exceptions.InvalidURL as error:
                if not self._ours(url):  # a Location, Link or realm the registry sent
                    raise RegistryError(f"the registry sent an invalid URL: {error}") from None
                raise InputError(f"invalid registry URL {url!r}: {error}") from None
            except requests.exceptions.RequestException as error:
                cause = describe(error)
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
                    raise error_from(response, label)
                value = reader(response) if reader is not None else None
                return response, value
            except Transient as transient:
                cause = f"{label}: {transient.cause}"
                continue
            except requests.exceptions.RequestException as error:
                cause = f"{label}: {describe(error)}"
                continue
            finally:
                response.close()
        if not retry:
            raise Transient(cause)
        if attempt < attempts - 1 or self._timeout() <= 0:
            raise RegistryError(
                f"{label} ({self.host}): timed out: {cause}",
                url=url,
                hint="the whole command's time (--timeout) ran out; retry, or raise --timeout",
            )
        raise RegistryError(
            f"{cause} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})", url=url
        )

    def _timeout(self) -> float:
        """This request's timeout: the per-request one, cut to what the deadline leaves."""
        policy = self.options.retry
        left = policy.remaining(time.monotonic())
        return policy.timeout if left is None else min(policy.timeout, left)

    def _backoff(self, attempt: int) -> float:
        policy = self.options.retry
        ceiling = min(policy.max_backoff, policy.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    # -- reading --------------------------------------------------------------------------

    def _read(
        self, response: requests.Response, *, limit: int, size: int | None, what: str
    ) -> bytes:
        maximum = limit if size is None else min(limit, size)
        length = decimal(response.headers.get("Content-Length"))
        if length is not None and length > maximum:
            if size is not None and length > size:
                raise Transient(f"served {length} bytes, the descriptor says {size}")
            raise SizeLimitExceeded(
                f"{what} is {length} bytes, more than the limit of {limit}", url=response.url
            )
        buffer = bytearray()
        for chunk in response.iter_content(_READ_CHUNK):
            buffer += chunk
            if len(buffer) > maximum:
                if size is not None and len(buffer) > size:
                    raise Transient(f"served more bytes than the descriptor's size {size}")
                raise SizeLimitExceeded(
                    f"{what} is larger than the limit of {limit} bytes", url=response.url
                )
        if size is not None and len(buffer) != size:
            raise Transient(f"served {len(buffer)} bytes, the descriptor says {size}")
        return bytes(buffer)


def _not_tls(error: requests.exceptions.SSLError) -> bool:
    """HTTPS spoken to a server that answered in plain text (OpenSSL's words for it)."""
    text = str(error)
    return "WRONG_VERSION_NUMBER" in text or "record layer failure" in text
