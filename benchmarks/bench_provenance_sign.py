"""Provenance + DSSE sign of a Chains fixture TaskRun: DESIGN.md's end-to-end CPU target.

Targets (DESIGN.md "Targets"): >= 2,000 runs/s/core, and <= 2.5x the cost of a bare
``cryptography`` DSSE sign of the same statement (PAE -> ECDSA P-256 -> base64 -> envelope JSON).
The bare baseline signs the statement bytes that were already generated, so the ratio is the
price of generating the provenance plus our DSSE layer.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks._harness import Result, cpu_per_call
from benchmarks.bench_provenance import _fixtures
from konflux_supply import provenance, signing
from konflux_supply.signing import dsse

PAYLOAD_TYPE = "application/vnd.in-toto+json"


def run(quick: bool) -> list[Result]:
    timing: dict[str, Any] = {"min_seconds": 0.05, "samples": 3} if quick else {}
    key = ec.generate_private_key(ec.SECP256R1())
    signer = signing.signer_from_private_key(key)
    algorithm = ec.ECDSA(hashes.SHA256())
    results = []
    for fmt in ("slsa/v1", "slsa/v2alpha4"):
        source, fixtures = _fixtures(fmt)
        run_bytes, _ = fixtures["taskrun1"]
        document = json.loads(run_bytes)
        statement = provenance.generate(document, format=fmt).to_json()

        def bare_dsse(statement: bytes = statement) -> bytes:
            pae = b"DSSEv1 %d %b %d %b" % (
                len(PAYLOAD_TYPE),
                PAYLOAD_TYPE.encode(),
                len(statement),
                statement,
            )
            envelope = {
                "payloadType": PAYLOAD_TYPE,
                "payload": base64.b64encode(statement).decode(),
                "signatures": [
                    {"keyid": "", "sig": base64.b64encode(key.sign(pae, algorithm)).decode()}
                ],
            }
            return json.dumps(envelope, separators=(",", ":")).encode()

        def ours(document: Any = document, fmt: str = fmt) -> bytes:
            payload = provenance.generate(document, format=fmt).to_json()
            return dsse.sign(payload, signer, keyid="").to_json()

        results.append(
            Result(
                f"taskrun1 {fmt}: generate + DSSE sign",
                cpu_per_call(ours, **timing),
                baseline="bare cryptography DSSE sign of the same statement",
                baseline_per_call=cpu_per_call(bare_dsse, **timing),
                extra={"fixtures": source, "statement_bytes": len(statement)},
            )
        )
    return results
