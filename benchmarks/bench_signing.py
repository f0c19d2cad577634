"""DSSE sign and verify of a ~20 KB in-toto statement, against bare ``cryptography``.

Rows (CPU time per call, one process, one P-256 key):

* ``bare: …`` — the floor: the same DSSE done by hand with ``cryptography`` + ``json`` +
  ``base64`` (PAE → ECDSA → base64 → envelope JSON; and back). The ratio target is **≤ 1.2x**.
* ``bare: ECDSA P-256 over the PAE bytes`` — the crypto alone, for scale.
* ``konflux_supply: dsse.sign / dsse.verify`` — bytes in, envelope JSON bytes out (and back).
* ``… -> Envelope`` / ``… <- parsed Envelope`` — the same without the JSON text, against the
  ECDSA alone: what DSSE itself (PAE, base64) adds to the signature.
* ``securesystemslib: …`` — securesystemslib's DSSE (dev extra) on the same statement and key;
  note it cannot verify cosign's ``keyid: ""`` envelopes, so it verifies its own.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks._harness import Result, cpu_per_call
from konflux_supply import signing
from konflux_supply.signing import dsse

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def statement(size: int = 20_000) -> bytes:
    """A deterministic in-toto v1 statement of about ``size`` bytes (SLSA-provenance shaped)."""
    materials: list[dict[str, Any]] = []
    doc: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {"name": "quay.io/example/app", "digest": {"sha256": "ab" * 32}},
        ],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://tekton.dev/chains/v2/slsa",
                "externalParameters": {"runSpec": {"pipelineRef": {"name": "build"}}},
                "resolvedDependencies": materials,
            },
            "runDetails": {"builder": {"id": "https://tekton.dev/chains/v2"}},
        },
    }
    index = 0
    while len(json.dumps(doc, separators=(",", ":"))) < size:
        materials.append(
            {
                "uri": f"oci://quay.io/konflux-ci/tekton-catalog/task-{index}",
                "digest": {"sha256": f"{index:064x}"},
                "name": f"task-{index}",
            }
        )
        index += 1
    return json.dumps(doc, separators=(",", ":")).encode()


def run(quick: bool) -> list[Result]:
    """Measure; ``quick`` shortens every sample (CI smoke run)."""
    seconds = 0.05 if quick else 0.3
    samples = 3 if quick else 5
    payload = statement()
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    signer = signing.signer_from_private_key(key)
    verifier = signing.verifier_from_public_key(public)
    pae = dsse.pae(PAYLOAD_TYPE, payload)
    algorithm = ec.ECDSA(hashes.SHA256())

    def bare_sign() -> bytes:
        body = b"DSSEv1 %d %b %d %b" % (
            len(PAYLOAD_TYPE),
            PAYLOAD_TYPE.encode(),
            len(payload),
            payload,
        )
        sig = key.sign(body, algorithm)
        envelope = {
            "payloadType": PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        }
        return json.dumps(envelope, separators=(",", ":")).encode()

    envelope_bytes = bare_sign()

    def bare_verify() -> bytes:
        doc = json.loads(envelope_bytes)
        body = base64.b64decode(doc["payload"])
        sig = base64.b64decode(doc["signatures"][0]["sig"])
        kind = doc["payloadType"].encode()
        public.verify(sig, b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(body), body), algorithm)
        return body

    def ours_sign() -> bytes:
        return dsse.sign(payload, signer).to_json()

    def ours_verify() -> bytes:
        return dsse.verify(envelope_bytes, [verifier])

    def crypto_sign() -> bytes:
        return key.sign(pae, algorithm)

    signature = crypto_sign()

    def crypto_verify() -> None:
        public.verify(signature, pae, algorithm)

    assert ours_verify() == payload
    assert dsse.verify(ours_sign(), [verifier]) == payload

    def measure(fn: Any) -> float:
        return cpu_per_call(fn, min_seconds=seconds, samples=samples)

    bare_sign_t, bare_verify_t = measure(bare_sign), measure(bare_verify)
    crypto_sign_t, crypto_verify_t = measure(crypto_sign), measure(crypto_verify)
    size = {"statement_bytes": len(payload), "envelope_bytes": len(envelope_bytes)}
    results = [
        Result("bare: DSSE sign (cryptography+json+base64)", bare_sign_t, extra=size),
        Result("bare: DSSE verify (cryptography+json+base64)", bare_verify_t),
        Result("bare: ECDSA P-256 sign over the PAE bytes", crypto_sign_t),
        Result("bare: ECDSA P-256 verify over the PAE bytes", crypto_verify_t),
        Result(
            "konflux_supply: dsse.sign -> envelope JSON",
            measure(ours_sign),
            "bare DSSE sign",
            bare_sign_t,
            {"target_ratio": 1.2},
        ),
        Result(
            "konflux_supply: dsse.verify <- envelope JSON",
            measure(ours_verify),
            "bare DSSE verify",
            bare_verify_t,
            {"target_ratio": 1.2},
        ),
    ]
    results[4].extra["ratio_to_crypto_only"] = round(results[4].per_call / crypto_sign_t, 2)
    results[5].extra["ratio_to_crypto_only"] = round(results[5].per_call / crypto_verify_t, 2)
    # The same operations without the envelope's JSON text: what DSSE adds to the signature
    # itself (PAE, base64 of the payload on signing, the statement checks on verifying).
    parsed = dsse.parse(envelope_bytes)
    results.append(
        Result(
            "konflux_supply: dsse.sign -> Envelope (no JSON)",
            measure(lambda: dsse.sign(payload, signer)),
            "ECDSA sign alone",
            crypto_sign_t,
        )
    )
    results.append(
        Result(
            "konflux_supply: dsse.verify <- parsed Envelope",
            measure(lambda: dsse.verify(parsed, [verifier])),
            "ECDSA verify alone",
            crypto_verify_t,
        )
    )
    results.extend(_securesystemslib(payload, key, measure, bare_sign_t, bare_verify_t))
    return results


def _securesystemslib(
    payload: bytes, key: ec.EllipticCurvePrivateKey, measure: Any, sign_t: float, verify_t: float
) -> list[Result]:
    try:
        from securesystemslib.dsse import Envelope
        from securesystemslib.signer import CryptoSigner  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - the dev extra is missing
        return []
    sslib_signer = CryptoSigner(key)

    def sign() -> bytes:
        envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
        envelope.sign(sslib_signer)
        return json.dumps(envelope.to_dict(), separators=(",", ":")).encode()

    signed = sign()

    def verify() -> bytes:
        envelope = Envelope.from_dict(json.loads(signed))
        envelope.verify([sslib_signer.public_key], 1)
        return envelope.pae()

    verify()
    return [
        Result("securesystemslib: Envelope.sign -> JSON", measure(sign), "bare DSSE sign", sign_t),
        Result(
            "securesystemslib: Envelope.verify <- JSON",
            measure(verify),
            "bare DSSE verify",
            verify_t,
        ),
    ]
