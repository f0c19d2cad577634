"""A small Rekor v1 client for the write side: log a signature or a DSSE envelope, and trust
the answer only once it verifies (ADR 0081).

``POST /api/v1/log/entries`` with a ``hashedrekord`` or ``dsse`` 0.0.1 proposal; a ``409``
(the same entry is already logged) is followed to the existing entry through its
``Location``, as cosign does, so that logging twice never makes a second entry. Transient
failures (connection errors, 408, 429, 5xx, a truncated body) are retried as the registry
client retries them (:class:`~konflux_supply.oci.RetryPolicy`: exponential backoff with
jitter, ``Retry-After`` honoured). Every answer is parsed strictly and then checked: the SET
against the log's key, and the body against our signature, key and payload. A log that
cannot be reached or answers wrongly raises, with one line naming the log and the cause:

* :class:`BackendUnavailable` (exit 3): unreachable, HTTP errors, an answer that is not a log
  entry;
* :class:`VerificationError` (exit 1): an entry whose SET does not verify, that another log
  made, or whose body describes something else.

The log's key is pinned (``public_key``) or, only when the caller says the URL is trusted
(``trust_served_key``), read once from ``GET /api/v1/log/publicKey`` over HTTPS (or loopback).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
import requests.utils
import urllib3

from konflux_supply.errors import BackendUnavailable, InputError, VerificationError
from konflux_supply.models.dsse import Envelope
from konflux_supply.oci import RetryPolicy
from konflux_supply.oci.reference import is_loopback
from konflux_supply.signing.rekor import (
    MAX_ENTRY_BYTES,
    RekorEntry,
    TransparencyLog,
    check_envelope_entry,
    check_signature_entry,
    dsse_proposal,
    hashedrekord_proposal,
    parse_log_entry,
    pem_of,
    pinned_log,
)

__all__ = ["DEFAULT_REKOR_URL", "RekorClient", "check_rekor_trust", "check_rekor_url"]

DEFAULT_REKOR_URL = "https://rekor.sigstore.dev"
"""Tekton Chains' default ``transparency.url``."""
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_KEY_BYTES = 64 * 1024


def check_rekor_trust(
    url: str, public_key: bytes | None, trust_served_key: bool
) -> tuple[TransparencyLog, ...] | None:
    """The pinned log for ``public_key``; ``None`` when the served key is to be trusted (and
    may be: HTTPS or loopback). :class:`InputError` naming the configuration key otherwise."""
    if public_key is not None:
        try:
            return (pinned_log(public_key),)
        except InputError as error:
            raise InputError(error.message, field="transparency.public-key") from None
    if not trust_served_key:
        raise InputError(
            "the log's answers are verified against its public key, and none was given",
            field="transparency.public-key",
            hint='set transparency.public-key (PEM), or transparency.trust-served-key: "true" '
            "to trust the key the log serves over HTTPS",
        )
    parts = urlsplit(url)
    if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
        raise InputError(
            "a log key fetched over plain HTTP could be anyone's: use https, or pin the key",
            field="transparency.url",
        )
    return None


def check_rekor_url(url: Any, *, field: str = "transparency.url") -> str:
    """``url`` as a log base URL (no trailing ``/``), or :class:`InputError` naming ``field``:
    ``http``/``https`` with a host, no credentials, query or fragment."""
    if not isinstance(url, str) or not url.strip():
        raise InputError("expected an http(s) URL", field=field)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise InputError(f"not a URL: {error}", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL with a host", field=field)
    if parts.username is not None or parts.password is not None:
        raise InputError("the URL must not carry credentials", field=field)
    if parts.query or parts.fragment:
        raise InputError("the URL must not have a query or fragment", field=field)
    if port == 0:
        raise InputError("port 0 is not a port", field=field)
    return url.strip().rstrip("/")


class RekorClient:
    """One Rekor v1 log. Thread-safe; reuse one per process (it keeps a connection pool).

    ``public_key``: the log's PEM public key (pinned). ``trust_served_key``: without a pinned
    key, trust the key the log serves (fetched once, over HTTPS or to a loopback host only).
    One of the two is required. ``ca_file``: a CA bundle for a private log (default: certifi).
    """

    def __init__(
        self,
        url: str = DEFAULT_REKOR_URL,
        *,
        public_key: bytes | None = None,
        trust_served_key: bool = False,
        retry: RetryPolicy | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.url = check_rekor_url(url)
        self.retry = retry or RetryPolicy(attempts=4, backoff=0.5, max_backoff=8.0, timeout=30.0)
        self._verify: str | bool = ca_file or certifi.where()
        self._lock = threading.Lock()
        self._logs: tuple[TransparencyLog, ...] | None = check_rekor_trust(
            self.url, public_key, trust_served_key
        )
        self._session = requests.Session()
        self._session.trust_env = False  # no REQUESTS_CA_BUNDLE / netrc; proxies below

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> RekorClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- trust ------------------------------------------------------------------------------

    def trusted_logs(self) -> tuple[TransparencyLog, ...]:
        """The log's key: pinned, or fetched once from ``/api/v1/log/publicKey``."""
        with self._lock:
            if self._logs is None:
                status, raw, _ = self._request("GET", "/api/v1/log/publicKey", None)
                if status != 200:
                    raise self._unavailable(f"HTTP {status} for its public key{_message(raw)}")
                if len(raw) > _MAX_KEY_BYTES:
                    raise self._unavailable("its public key is too large")
                try:
                    self._logs = (pinned_log(raw),)
                except InputError as error:
                    raise self._unavailable(
                        f"its public key is unusable: {error.message}"
                    ) from None
            return self._logs

    # -- logging ----------------------------------------------------------------------------

    def log_signature(self, payload: bytes, signature: bytes, key_pem: bytes) -> RekorEntry:
        """Log ``signature`` over ``payload`` (``hashedrekord``); the verified entry."""
        logs = self.trusted_logs()
        pem = pem_of(key_pem)
        entry = self._create(hashedrekord_proposal(payload, signature, pem))
        self._checked(lambda: check_signature_entry(entry, logs, payload, signature, pem))
        return entry

    def log_envelope(self, envelope: Envelope, key_pem: bytes) -> RekorEntry:
        """Log a DSSE envelope exactly as :meth:`Envelope.to_json` writes it (``dsse``)."""
        logs = self.trusted_logs()
        pem = pem_of(key_pem)
        entry = self._create(dsse_proposal(envelope.to_json(), pem))
        self._checked(lambda: check_envelope_entry(entry, logs, envelope, pem))
        return entry

    def _checked(self, check: Callable[[], None]) -> None:
        try:
            check()
        except VerificationError as error:
            raise VerificationError(f"transparency log {self.url}: {error.message}") from None

    def _create(self, proposal: dict[str, Any]) -> RekorEntry:
        body = json.dumps(proposal, separators=(",", ":")).encode()
        status, raw, location = self._request("POST", "/api/v1/log/entries", body)
        if status == 409:  # already logged: read the existing entry, as cosign does
            uuid = (location or "").rstrip("/").rsplit("/", 1)[-1]
            if not uuid or not all(c in "0123456789abcdefABCDEF" for c in uuid):
                raise self._unavailable("409 without the existing entry's Location")
            status, raw, _ = self._request("GET", f"/api/v1/log/entries/{uuid.lower()}", None)
            if status != 200:
                raise self._unavailable(f"HTTP {status} reading the existing entry{_message(raw)}")
        elif status != 201:
            raise self._unavailable(f"HTTP {status} for the new entry{_message(raw)}")
        try:
            return replace(parse_log_entry(raw), new=status == 201)
        except InputError as error:
            raise self._unavailable(f"the answer is not a log entry: {error.summary()}") from None

    # -- HTTP -------------------------------------------------------------------------------

    def _unavailable(self, cause: str) -> BackendUnavailable:
        return BackendUnavailable(f"transparency log {self.url}: {cause}")

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes, str | None]:
        """One call with retries: (status, body, Location) of the last answer."""
        url = self.url + path
        loopback = is_loopback(urlsplit(url).hostname or "")
        proxies = {} if loopback else requests.utils.get_environ_proxies(url)
        policy = self.retry
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        cause = ""
        retry_after: float | None = None
        for attempt in range(policy.attempts):
            if attempt:
                self._wait(attempt, cause, retry_after)
            retry_after = None
            left = policy.remaining(time.monotonic())
            if left is not None and left <= 0:
                break
            timeout = policy.timeout if left is None else min(policy.timeout, left)
            try:
                response = self._session.request(
                    method,
                    url,
                    data=body,
                    headers=headers,
                    timeout=timeout,
                    verify=self._verify,
                    proxies=proxies,
                    allow_redirects=False,
                    stream=True,
                )
                with response:
                    raw = response.raw.read(MAX_ENTRY_BYTES + 1, decode_content=True)
                    status = response.status_code
                    location = response.headers.get("Location")
                    retry_after = _retry_after(response.headers.get("Retry-After"))
            except requests.exceptions.SSLError as error:
                raise self._unavailable(f"TLS: {_first_line(error)}") from None
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                # reading ``response.raw`` bypasses requests' wrapping of urllib3's errors
                cause = f"{type(error).__name__}: {_first_line(error)}"
                continue
            if len(raw) > MAX_ENTRY_BYTES:
                raise self._unavailable(f"the answer is larger than {MAX_ENTRY_BYTES} bytes")
            if status in _RETRY_STATUSES:
                cause = f"HTTP {status}{_message(raw)}"
                if retry_after is not None and retry_after > policy.max_retry_after:
                    break
                continue
            return status, raw, location
        raise self._unavailable(f"{cause or 'no answer'} (after {policy.attempts} attempts)")

    def _wait(self, attempt: int, cause: str, retry_after: float | None) -> None:
        policy = self.retry
        ceiling = min(policy.max_backoff, policy.backoff * (2 ** (attempt - 1)))
        delay = random.uniform(ceiling / 2, ceiling) if retry_after is None else retry_after
        left = policy.remaining(time.monotonic())
        if left is not None:
            delay = min(delay, max(0.0, left))
        if policy.on_retry is not None:
            policy.on_retry(f"transparency log {self.url}: {cause}; retrying")
        time.sleep(delay)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    with suppress(ValueError):
        return max(0.0, float(value.strip()))
    return None


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def _message(raw: bytes) -> str:
    """``": <message>"`` from a Rekor error body, or ``""``."""
    with suppress(ValueError, RecursionError, UnicodeDecodeError):
        doc = json.loads(raw)
        if isinstance(doc, dict) and isinstance(doc.get("message"), str):
            return ": " + " ".join(doc["message"].split())[:200]
    return ""
