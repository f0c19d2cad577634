"""A socket-free ``requests`` adapter that answers from a script, for client unit tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import requests.adapters
import urllib3
from urllib3.exceptions import ProtocolError


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    verify: Any


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_at: int | None = None  # raise a broken-connection error after this many bytes
    error: Exception | None = None  # raise instead of answering


Handler = Callable[[Seen], Answer]


class _Broken(io.BytesIO):
    def __init__(self, data: bytes, cut: int) -> None:
        super().__init__(data[:cut])

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if not chunk:
            raise ProtocolError("Connection broken: IncompleteRead")
        return chunk


class ScriptedAdapter(requests.adapters.BaseAdapter):
    """Calls ``handler(seen)`` for every request; records everything in ``seen``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.seen: list[Seen] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        seen = Seen(
            request.method or "",
            request.url or "",
            dict(request.headers),
            body if isinstance(body, bytes) or body is None else b"".join(body),
            kwargs.get("verify"),
        )
        self.seen.append(seen)
        answer = self.handler(seen)
        if answer.error is not None:
            raise answer.error
        headers = {"Content-Length": str(len(answer.body)), **answer.headers}
        stream: io.BytesIO = (
            _Broken(answer.body, answer.truncate_at)
            if answer.truncate_at is not None
            else io.BytesIO(answer.body)
        )
        raw = urllib3.HTTPResponse(
            body=stream,
            headers=headers,
            status=answer.status,
            preload_content=False,
            enforce_content_length=False,
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.reason = "scripted"
        response.encoding = None
        return response

    def close(self) -> None:
        pass
