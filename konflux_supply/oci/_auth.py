"""Registry authentication: ``WWW-Authenticate`` challenges, basic auth, bearer tokens.

After the first challenge the scheme is known and credentials (or a cached token for the
scope) are sent up front on every request, so a large upload is never sent twice and never
rejected half-way (the oras-py failure mode in reference/ecosystem.md §2).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from konflux_supply.errors import RegistryError
from konflux_supply.oci.options import Credentials

__all__ = ["Authenticator", "Challenge", "denied", "parse_challenges"]

_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    """One ``WWW-Authenticate`` challenge: scheme (lowercase) and parameters."""

    scheme: str
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` header into challenges (RFC 7235, tolerant)."""
    out: list[Challenge] = []
    pos = 0
    text = header.strip()
    while pos < len(text):
        match = re.match(r"\s*,?\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)", text[pos:])
        if not match:
            break
        scheme = match.group(1).lower()
        pos += match.end()
        params: dict[str, str] = {}
        while pos < len(text):
            param = _PARAM.match(text, pos)
            if not param:
                break
            quoted = param.group(2)
            value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else param.group(3)
            params[param.group(1).lower()] = value or ""
            pos = param.end()
        out.append(Challenge(scheme, params))
    return out


@dataclass
class _Token:
    value: str
    expires: float


class Authenticator:
    """Per-registry authentication state, shared by the threads using one registry.

    ``fetch(method, url, **kwargs)`` sends the token request through the registry's own
    session (same CA, retries and proxies).
    """

    def __init__(
        self,
        host: str,
        credentials: Credentials | None,
        fetch: Callable[..., requests.Response],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.credentials = credentials if credentials and not credentials.empty else None
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self.scheme: str | None = None  # "basic", "bearer" or "none" once known
        self._bearer: dict[str, str] = {}
        self._tokens: dict[str, _Token] = {}

    @property
    def known(self) -> bool:
        """True once the registry told us how it authenticates (or that it does not)."""
        return self.scheme is not None

    def note_open(self) -> None:
        """A request succeeded without credentials."""
        with self._lock:
            if self.scheme is None:
                self.scheme = "none"

    def learn(self, response: requests.Response) -> None:
        """Learn the scheme from a 401 answer's ``WWW-Authenticate`` header."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        with self._lock:
            if bearer is not None and bearer.params.get("realm"):
                self.scheme = "bearer"
                self._bearer = dict(bearer.params)
            elif basic is not None:
                self.scheme = "basic"
            else:
                raise RegistryError(
                    "the registry answered 401 with no usable WWW-Authenticate challenge",
                    status=401,
                    url=response.url,
                )

    def authorization(self, scope: str | None) -> str | None:
        """The ``Authorization`` header to send up front (fetching a token if needed)."""
        if self.scheme == "basic":
            return _basic(self.credentials) if self.credentials else None
        if self.scheme == "bearer":
            key = scope or ""
            with self._lock:
                token = self._tokens.get(key)
            if token and token.expires > self._clock():
                return f"Bearer {token.value}"
            return f"Bearer {self._token(scope)}"
        return None

    def missing_credentials(self, url: str) -> RegistryError:
        """The error for a registry that wants credentials we do not have."""
        return RegistryError(
            "the registry requires authentication and no credentials were given",
            status=401,
            url=url,
            hint="pass --registry-username/--registry-password or a docker config.json",
        )

    def refused(self, response: requests.Response, sent: str, scope: str | None) -> str:
        """A request sent with ``sent`` got 401: the header to try once more, or raise."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if sent.startswith("Bearer ") and bearer is not None:
            wanted = bearer.params.get("scope")
            if wanted and wanted != scope:
                return f"Bearer {self._token(wanted)}"
        if sent.startswith("Basic ") and bearer is not None and bearer.params.get("realm"):
            self.learn(response)
            return f"Bearer {self._token(scope)}"
        raise denied(response, self.credentials)

    def _token(self, scope: str | None) -> str:
        with self._lock:
            params = dict(self._bearer)
        realm = params.get("realm", "")
        query = {"service": params["service"]} if params.get("service") else {}
        if scope:
            query["scope"] = scope
        creds = self.credentials
        if creds and creds.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": "konflux-supply",
                **query,
            }
            answer = self._fetch("POST", realm, data=form)
        else:
            headers = {"Authorization": _basic(creds)} if creds else {}
            answer = self._fetch("GET", realm, params=query, headers=headers)
        if answer.status_code in (401, 403):
            raise RegistryError(
                "the token service refused the credentials",
                status=answer.status_code,
                url=realm,
                hint="check --registry-username/--registry-password or the docker config.json",
            )
        if answer.status_code != 200:
            raise RegistryError("the token service failed", status=answer.status_code, url=realm)
        try:
            body = answer.json()
            token = str(body.get("token") or body.get("access_token") or "")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError, RecursionError):
            raise RegistryError("the token service returned malformed JSON", url=realm) from None
        if not token:
            raise RegistryError("the token service returned no token", url=realm)
        with self._lock:
            self._tokens[scope or ""] = _Token(token, self._clock() + max(expires_in - 5, 1))
        return token


def _basic(creds: Credentials | None) -> str:
    assert creds is not None
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def denied(response: requests.Response, creds: Credentials | None) -> RegistryError:
    """The error for credentials (or a token) the registry refused."""
    return RegistryError(
        "the registry refused the credentials" if creds else "access denied",
        status=response.status_code,
        url=response.url,
        hint="check the registry username/password and that it may access this repository",
    )
