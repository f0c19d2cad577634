"""A fault-injecting HTTP proxy on loopback, in front of a real registry.

Rules are matched in order on method and path; each fires ``times`` times (``None``: always)
and then stops matching. Faults: an HTTP status (500, 503, 429 + ``Retry-After``), a
connection reset, a truncated body, a corrupted body (one byte flipped, same length: a wrong
digest), an oversized body (extra bytes, ``Content-Length`` adjusted), a slow response.
Everything else is forwarded unchanged (the ``Host`` header too, so upload ``Location``s
point back at the proxy).
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback import LoopbackServer

FAULTS = ("status", "reset", "truncate", "corrupt", "oversize", "slow")


@dataclass
class Rule:
    """One fault: what it does, to which requests, how many times."""

    fault: str
    path: str = ".*"
    method: str = ".*"
    times: int | None = 1
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    extra: int = 1024
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return bool(re.fullmatch(self.method, method) and re.search(self.path, path))


@dataclass
class FaultPlan:
    """The rules of a proxy; thread-safe."""

    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, fault: str, **kwargs: Any) -> Rule:
        assert fault in FAULTS, fault
        rule = Rule(fault, **kwargs)
        with self.lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()
            self.seen.clear()

    def pick(self, method: str, path: str) -> Rule | None:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.fired += 1
                    self.seen.append((method, path, rule.fault))
                    return rule
            self.seen.append((method, path, "pass"))
        return None


class FaultProxy(LoopbackServer):
    """``FaultProxy(upstream="127.0.0.1:5000").start()``; ``.host`` is where to point clients."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.plan = FaultPlan()

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._serve(Handler)
        return self


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: Any) -> None:
        pass

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        rule = self.owner.plan.pick(method, self.path)
        if rule is not None and rule.fault == "reset":
            self._reset()
            return
        if rule is not None and rule.fault == "status":
            payload = b'{"errors":[{"code":"UNAVAILABLE","message":"injected fault"}]}'
            self.send_response(rule.status)
            if rule.retry_after is not None:
                self.send_header("Retry-After", rule.retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(payload)
            return
        if rule is not None and rule.fault == "slow":
            time.sleep(rule.delay)
        upstream = http.client.HTTPConnection(self.owner.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        try:
            upstream.request(method, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            status, reason = response.status, response.reason
            upstream_length = response.getheader("Content-Length")
            out_headers = [
                (k, v)
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            ]
        finally:
            upstream.close()
        declared = len(data)
        if method == "HEAD" and upstream_length is not None:
            declared = int(upstream_length)
        if rule is not None and method != "HEAD" and data:
            if rule.fault == "corrupt":
                data = bytes([data[0] ^ 0x01]) + data[1:]
            elif rule.fault == "oversize":
                data = data + b"\0" * rule.extra
                declared = len(data)
        self.send_response(status, reason)
        for key, value in out_headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        if method == "HEAD":
            return
        if rule is not None and rule.fault == "truncate" and data:
            self.wfile.write(data[: max(1, len(data) // 2)])
            self.wfile.flush()
            self._reset()
            return
        self.wfile.write(data)

    do_GET = lambda self: self._forward("GET")  # noqa: E731
    do_HEAD = lambda self: self._forward("HEAD")  # noqa: E731
    do_PUT = lambda self: self._forward("PUT")  # noqa: E731
    do_POST = lambda self: self._forward("POST")  # noqa: E731
    do_PATCH = lambda self: self._forward("PATCH")  # noqa: E731
    do_DELETE = lambda self: self._forward("DELETE")  # noqa: E731
