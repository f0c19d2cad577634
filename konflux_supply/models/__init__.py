"""Data models that mirror the specifications (in-toto, SLSA, DSSE, OCI, Tekton).

Models are pydantic v2 classes that keep unknown fields and check their invariants on
construction. Signed payloads are always kept as the bytes received; :mod:`.canonical` holds
the JSON encoders whose bytes must match the Go tools'.
"""

from __future__ import annotations

__all__: list[str] = []
