"""Small fakes of remote key services, served on loopback by the integration fixtures.

Each follows the service's documented request/response shapes and records every request, so
the tests can assert what our client sent:

* :class:`FakeVault` — Vault/OpenBao transit: ``GET /v1/<mount>/keys/<k>``,
  ``POST /v1/<mount>/sign/<k>[/<hash>]`` (https://developer.hashicorp.com/vault/api-docs/secret/transit);
* :class:`FakeGcpKms` — Cloud KMS v1 REST: ``GET`` key, version list, ``publicKey``,
  ``POST …:asymmetricSign`` (https://cloud.google.com/kms/docs/reference/rest);
* :class:`FakeAzureKeyVault` — Key Vault 7.4: ``GET /keys/<k>[/<v>]``,
  ``POST /keys/<k>/<v>/sign`` (https://learn.microsoft.com/rest/api/keyvault/keys);
* :class:`FakeKubernetes` — ``GET /api/v1/namespaces/<ns>/secrets/<name>``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from konflux_supply.signing._gcpkms import crc32c


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeService:
    """Base: routes requests to ``handle`` and records them."""

    requests: list[Request] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def handle(self, request: Request) -> tuple[int, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                service.requests.append(request)
                status, answer = service.handle(request)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _pem(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


_HASH = {"sha2-256": hashes.SHA256, "sha2-384": hashes.SHA384, "sha2-512": hashes.SHA512}


@dataclass
class FakeVault(FakeService):
    token: str = "s.test-token"
    mount: str = "transit"
    keys: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def handle(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("x-vault-token") != self.token:
            return 403, {"errors": ["permission denied"]}
        match = re.fullmatch(rf"/v1/{self.mount}/(keys|sign)/([^/]+)(?:/([^/]+))?", request.path)
        if not match or match.group(2) not in self.keys:
            return 404, {"errors": []}
        kind, name, url_hash = match.groups()
        key = self.keys[name]
        version = self.versions.get(name, 1)
        if kind == "keys" and request.method == "GET":
            if isinstance(key, ed25519.Ed25519PrivateKey):
                public = base64.b64encode(
                    key.public_key().public_bytes(
                        serialization.Encoding.Raw, serialization.PublicFormat.Raw
                    )
                ).decode()
                key_type = "ed25519"
            else:
                public = _pem(key)
                key_type = (
                    f"ecdsa-p{key.curve.key_size}"
                    if isinstance(key, ec.EllipticCurvePrivateKey)
                    else f"rsa-{key.key_size}"
                )
            keys = {str(v): {"public_key": public, "name": key_type} for v in range(1, version + 1)}
            return 200, {
                "data": {"keys": keys, "latest_version": version, "type": key_type, "name": name}
            }
        if kind == "sign" and request.method in ("POST", "PUT"):
            body = request.body or {}
            data = base64.b64decode(body["input"])
            hash_name = url_hash or body.get("hash_algorithm") or "sha2-256"
            if body.get("key_version") not in (None, version, str(version)):
                return 400, {"errors": ["requested version is not the latest"]}
            if isinstance(key, ed25519.Ed25519PrivateKey):
                if body.get("prehashed"):
                    return 400, {"errors": ["prehashed ed25519 not supported here"]}
                raw = key.sign(data)
            else:
                algorithm = _HASH[hash_name]()
                if body.get("prehashed"):
                    if len(data) != algorithm.digest_size:
                        return 400, {"errors": ["digest length does not match the hash"]}
                    chosen: Any = utils.Prehashed(algorithm)
                else:
                    chosen = algorithm
                if isinstance(key, ec.EllipticCurvePrivateKey):
                    raw = key.sign(data, ec.ECDSA(chosen))
                    if body.get("marshaling_algorithm") == "jws":
                        r, s = utils.decode_dss_signature(raw)
                        size = (key.curve.key_size + 7) // 8
                        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
                else:
                    pad: Any = (
                        padding.PKCS1v15()
                        if body.get("signature_algorithm") == "pkcs1v15"
                        else padding.PSS(mgf=padding.MGF1(algorithm), salt_length=32)
                    )
                    raw = key.sign(data, pad, chosen)
            sig = f"vault:v{version}:" + base64.b64encode(raw).decode()
            return 200, {"data": {"signature": sig, "key_version": version}}
        return 405, {"errors": ["unsupported operation"]}


GCP_ALGORITHMS = {
    "secp256r1": "EC_SIGN_P256_SHA256",
    "secp384r1": "EC_SIGN_P384_SHA384",
}


@dataclass
class FakeGcpKms(FakeService):
    token: str = "ya29.test"
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    """crypto key name -> {"purpose": str, "versions": {"1": private key, ...}}"""
    corrupt_crc: bool = False

    def handle(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": 401, "message": "unauthenticated"}}
        path = request.path.removeprefix("/v1/")
        match = re.fullmatch(
            r"(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+)"
            r"(?:/cryptoKeyVersions(?:/([^/:]+))?)?(/publicKey|:asymmetricSign)?",
            path,
        )
        if not match or match.group(1) not in self.keys:
            return 404, {"error": {"code": 404, "message": f"{path} not found"}}
        name, version, action = match.groups()
        entry = self.keys[name]
        if version is None and "/cryptoKeyVersions" not in path:
            return 200, {"name": name, "purpose": entry["purpose"]}
        if version is None:
            names = sorted(entry["versions"], reverse=True)
            return 200, {
                "cryptoKeyVersions": [
                    {"name": f"{name}/cryptoKeyVersions/{v}", "state": "ENABLED"} for v in names
                ],
                "totalSize": len(names),
            }
        key = entry["versions"].get(version)
        if key is None:
            return 404, {"error": {"code": 404, "message": "version not found"}}
        algorithm = (
            GCP_ALGORITHMS[key.curve.name]
            if isinstance(key, ec.EllipticCurvePrivateKey)
            else f"RSA_SIGN_PKCS1_{key.key_size}_SHA256"
        )
        if action == "/publicKey":
            pem = _pem(key)
            return 200, {
                "pem": pem,
                "algorithm": algorithm,
                "pemCrc32c": str(crc32c(pem.encode())),
                "name": f"{name}/cryptoKeyVersions/{version}",
            }
        if action == ":asymmetricSign" and request.method == "POST":
            body = request.body or {}
            ((hash_name, value),) = body["digest"].items()
            digest = base64.b64decode(value)
            verified = str(crc32c(digest)) == body.get("digestCrc32c")
            algorithm_hash = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}[hash_name]()
            if isinstance(key, ec.EllipticCurvePrivateKey):
                raw = key.sign(digest, ec.ECDSA(utils.Prehashed(algorithm_hash)))
            else:
                raw = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(algorithm_hash))
            crc = crc32c(raw) ^ (1 if self.corrupt_crc else 0)
            return 200, {
                "signature": base64.b64encode(raw).decode(),
                "signatureCrc32c": str(crc),
                "verifiedDigestCrc32c": verified,
                "name": f"{name}/cryptoKeyVersions/{version}",
            }
        return 405, {"error": {"code": 405, "message": "unsupported"}}


def _b64url_int(value: int, size: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).decode().rstrip("=")


@dataclass
class FakeAzureKeyVault(FakeService):
    token: str = "eyJ.test"
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    """key name -> {version: private key}; the last inserted version is the latest."""

    def handle(self, request: Request) -> tuple[int, Any]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"code": "Unauthorized", "message": "no token"}}
        if request.query.get("api-version") != ["7.4"]:
            return 400, {"error": {"code": "BadParameter", "message": "api-version"}}
        match = re.fullmatch(r"/keys/([^/]+)(?:/([^/]+))?(/sign)?", request.path)
        if not match or match.group(1) not in self.keys:
            return 404, {"error": {"code": "KeyNotFound", "message": "no such key"}}
        name, version, sign = match.groups()
        versions = self.keys[name]
        version = version or list(versions)[-1]
        key = versions.get(version)
        if key is None:
            return 404, {"error": {"code": "KeyNotFound", "message": "no such version"}}
        kid = f"https://fake.vault.azure.net/keys/{name}/{version}"
        if sign is None:
            if isinstance(key, ec.EllipticCurvePrivateKey):
                numbers = key.public_key().public_numbers()
                size = (key.curve.key_size + 7) // 8
                crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
                jwk = {
                    "kid": kid,
                    "kty": "EC-HSM",
                    "crv": crv[key.curve.name],
                    "x": _b64url_int(numbers.x, size),
                    "y": _b64url_int(numbers.y, size),
                }
            else:
                numbers = key.public_key().public_numbers()
                jwk = {
                    "kid": kid,
                    "kty": "RSA",
                    "n": _b64url_int(numbers.n, key.key_size // 8),
                    "e": _b64url_int(numbers.e, 3),
                }
            return 200, {"key": jwk, "attributes": {"enabled": True}}
        body = request.body or {}
        value = body["value"]
        digest = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        alg = body["alg"]
        chosen = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}[alg[2:]]()
        if alg.startswith("ES"):
            der = key.sign(digest, ec.ECDSA(utils.Prehashed(chosen)))
            r, s = utils.decode_dss_signature(der)
            size = (key.curve.key_size + 7) // 8
            raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
        else:
            raw = key.sign(digest, padding.PKCS1v15(), utils.Prehashed(chosen))
        return 200, {"kid": kid, "value": base64.urlsafe_b64encode(raw).decode().rstrip("=")}


@dataclass
class FakeKubernetes(FakeService):
    secrets: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)

    def handle(self, request: Request) -> tuple[int, Any]:
        match = re.fullmatch(r"/api/v1/namespaces/([^/]+)/secrets/([^/]+)", request.path)
        if not match or (match.group(1), match.group(2)) not in self.secrets:
            return 404, {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            }
        namespace, name = match.groups()
        data = {k: base64.b64encode(v).decode() for k, v in self.secrets[(namespace, name)].items()}
        return 200, {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace},
            "type": "Opaque",
            "data": data,
        }


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def rsa2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)
