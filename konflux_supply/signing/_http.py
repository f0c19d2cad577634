"""A small JSON-over-HTTPS client for the KMS REST APIs (GCP Cloud KMS, Azure Key Vault).

Every failure is typed: 4xx naming the key → :class:`InputError`; 401/403, 5xx, 429 and transport
errors → :class:`BackendUnavailable` (never a pass, never "unsigned"). Responses are size-capped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
import urllib3

from konflux_supply.errors import BackendUnavailable, InputError

MAX_RESPONSE_BYTES = 1024 * 1024


class JsonApi:
    """JSON requests with a bearer token from ``token()`` (called once per request)."""

    def __init__(self, base: str, token: Callable[[], str], *, timeout: float, name: str) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.name = name
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One request; returns the decoded JSON object."""
        url = self.base + path
        try:
            token = self.token()
        except BackendUnavailable:
            raise
        except Exception as error:  # credential providers raise their own types
            first = (str(error).splitlines() or [type(error).__name__])[0]
            raise BackendUnavailable(f"{self.name}: no credentials: {first}") from None
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=self.timeout,
                stream=True,
            )
            raw = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            # reading ``response.raw`` bypasses requests' wrapping of urllib3's errors
            raise BackendUnavailable(f"{self.name}: {type(error).__name__}: {error}") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise BackendUnavailable(f"{self.name}: response larger than {MAX_RESPONSE_BYTES} B")
        status = response.status_code
        if status in (400, 404):
            raise InputError(f"{self.name}: HTTP {status} for {path}: {_message(raw)}", field="key")
        if status >= 300:
            raise BackendUnavailable(f"{self.name}: HTTP {status} for {path}: {_message(raw)}")
        try:
            doc = json.loads(raw)
        except ValueError:
            raise BackendUnavailable(f"{self.name}: the response is not JSON") from None
        if not isinstance(doc, dict):
            raise BackendUnavailable(f"{self.name}: the response is not a JSON object")
        return doc


def _message(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace")
    if isinstance(doc, dict):
        error = doc.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return json.dumps(doc)[:300]
