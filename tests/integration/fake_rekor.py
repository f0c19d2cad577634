"""A small Rekor v1 log of our own for tests (``http.server`` in a thread, loopback only).

It implements what the write side uses: ``POST /api/v1/log/entries`` for ``hashedrekord``
and ``dsse`` 0.0.1 (the signature is checked as Rekor checks it; the canonical body is
stored; a second identical entry is a ``409`` with the existing entry's ``Location``),
``GET /api/v1/log/entries/{uuid}``, ``GET /api/v1/log/entries?logIndex=N`` and
``GET /api/v1/log/publicKey``. Entries carry a SET signed with the log's own test EC key.

``mode`` makes it misbehave (see :data:`MODES`); ``transient`` answers that many next
requests with ``503`` first. ``posts`` counts ``POST`` requests (idempotence checks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

MODES = (
    None,  # a correct log
    "500",  # every request: HTTP 500
    "garbage",  # 201 with a body that is not a log entry
    "wrong-body",  # a correctly signed entry for another hash
    "bad-set",  # the SET does not verify (one byte flipped)
    "other-log",  # entries signed by another key (another log ID)
    "no-location",  # 409 without a Location header
)


def _canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem_key(b64_pem: str) -> ec.EllipticCurvePublicKey:
    key = serialization.load_pem_public_key(base64.b64decode(b64_pem))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def _pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass
class FakeRekor:
    """The log's state; ``url`` once started."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    mode: str | None = None
    transient: int = 0
    posts: int = 0
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def log_id(self) -> bytes:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).digest()

    def trusted_root(self) -> bytes:
        """A Sigstore ``trusted_root.json`` holding only this log's key."""
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": self.url,
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": _b64(der),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "validFor": {"start": "2020-01-01T00:00:00Z"},
                    },
                    "logId": {"keyId": _b64(self.log_id)},
                }
            ],
        }
        return json.dumps(doc).encode()

    # -- the log ----------------------------------------------------------------------------

    def _canonical_body(self, proposal: dict[str, Any]) -> dict[str, Any]:
        kind, version = proposal.get("kind"), proposal.get("apiVersion")
        spec = proposal["spec"]
        if (kind, version) == ("hashedrekord", "0.0.1"):
            digest = bytes.fromhex(spec["data"]["hash"]["value"])
            signature = base64.b64decode(spec["signature"]["content"])
            key = _pem_key(spec["signature"]["publicKey"]["content"])
            key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            return proposal
        if (kind, version) == ("dsse", "0.0.1"):
            content = spec["proposedContent"]
            envelope = json.loads(content["envelope"])
            payload = base64.b64decode(envelope["payload"])
            signatures = []
            for item in envelope["signatures"]:
                raw = base64.b64decode(item["sig"])
                for verifier in content["verifiers"]:
                    try:
                        _pem_key(verifier).verify(
                            raw, _pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256())
                        )
                    except InvalidSignature:
                        continue
                    signatures.append({"signature": item["sig"], "verifier": verifier})
                    break
                else:
                    raise InvalidSignature("a signature has no verifier")
            return {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(content["envelope"].encode()).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": sorted(signatures, key=lambda s: s["signature"]),
                },
            }
        raise ValueError(f"unsupported kind {kind} {version}")

    def _render(self, index: int) -> dict[str, Any]:
        uuid, entry = self.entries[index]
        body = entry["body"]
        if self.mode == "wrong-body":
            doc = json.loads(base64.b64decode(body))
            if doc["kind"] == "hashedrekord":
                doc["spec"]["data"]["hash"]["value"] = "00" * 32
            else:
                doc["spec"]["payloadHash"]["value"] = "00" * 32
            body = _b64(_canonical(doc))
        key = self.key if self.mode != "other-log" else ec.generate_private_key(ec.SECP256R1())
        log_id = hashlib.sha256(
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).digest()
        promise = {
            "body": body,
            "integratedTime": entry["integratedTime"],
            "logID": log_id.hex(),
            "logIndex": index,
        }
        signature = key.sign(_canonical(promise), ec.ECDSA(hashes.SHA256()))
        if self.mode == "bad-set":
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        return {uuid: {**promise, "verification": {"signedEntryTimestamp": _b64(signature)}}}

    def create(self, proposal: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """(status, answer, Location) for a proposed entry."""
        try:
            canonical = self._canonical_body(proposal)
        except (KeyError, TypeError, ValueError, InvalidSignature) as error:
            return 400, {"code": 400, "message": f"invalid entry: {error}"}, None
        raw = _canonical(canonical)
        uuid = hashlib.sha256(b"\x00" + raw).hexdigest()
        with self.lock:
            for existing, _ in self.entries:
                if existing == uuid:
                    location = None if self.mode == "no-location" else f"/api/v1/log/entries/{uuid}"
                    return (
                        409,
                        {"code": 409, "message": "an equivalent entry already exists"},
                        location,
                    )
            self.entries.append((uuid, {"body": _b64(raw), "integratedTime": int(time.time())}))
            index = len(self.entries) - 1
            return 201, self._render(index), f"/api/v1/log/entries/{uuid}"

    def get(self, uuid: str | None = None, index: int | None = None) -> dict[str, Any] | None:
        with self.lock:
            for position, (existing, _) in enumerate(self.entries):
                if existing == uuid or position == index:
                    return self._render(position)
        return None

    def start(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


def _handler(log: FakeRekor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _fault(self) -> bool:
            with log.lock:
                if log.transient > 0:
                    log.transient -= 1
                    status = 503
                elif log.mode == "500":
                    status = 500
                else:
                    return False
            self._send(status, json.dumps({"code": status, "message": "injected"}).encode())
            return True

        def do_GET(self) -> None:
            if self._fault():
                return
            path, _, query = self.path.partition("?")
            if path == "/api/v1/log/publicKey":
                self._send(200, log.public_pem, {"Content-Type": "application/x-pem-file"})
                return
            found = None
            if path.startswith("/api/v1/log/entries/"):
                found = log.get(uuid=path.rsplit("/", 1)[-1])
            elif path == "/api/v1/log/entries" and query.startswith("logIndex="):
                found = log.get(index=int(query.split("=", 1)[1]))
            if found is None:
                self._send(404, b'{"code":404,"message":"not found"}')
                return
            self._send(200, json.dumps(found).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            with log.lock:
                log.posts += 1
            if self._fault():
                return
            if self.path != "/api/v1/log/entries":
                self._send(404, b'{"code":404,"message":"not found"}')
                return
            if log.mode == "garbage":
                self._send(201, b'{"not": "an entry"')
                return
            try:
                proposal = json.loads(data)
            except ValueError:
                self._send(400, b'{"code":400,"message":"not JSON"}')
                return
            status, answer, location = log.create(proposal)
            self._send(
                status, json.dumps(answer).encode(), {"Location": location} if location else None
            )

    return Handler
