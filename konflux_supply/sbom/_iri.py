"""The ``iri-reference`` JSON-schema format as one regular expression (RFC 3987 §2.2).

jsonschema checks this format with ``rfc3987-syntax``, an Earley parser that takes ~45 ms per
URL: 5,000 components with a distribution URL each spend minutes there. The grammar is regular,
so it compiles to a regular expression that accepts exactly the same strings. We follow the
grammar that checker implements, so verdicts do not change: IPv6 literals as its nine forms,
``ucschar`` and ``iprivate`` limited to the Basic Multilingual Plane.
``tests/unit/sbom/test_iri.py`` compares both on generated strings.
"""

from __future__ import annotations

import functools
import re

__all__ = ["is_iri_reference"]

_UCS = "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
_IUNRESERVED = rf"A-Za-z0-9\-._~{_UCS}"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_IPCHAR = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}\.{_DEC_OCTET}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join(
    [
        rf"(?:{_H16}:){{6}}{_LS32}",
        rf"::(?:{_H16}:){{5}}{_LS32}",
        rf"{_H16}::(?:{_H16}:){{4}}{_LS32}",
        rf"{_H16}:{_H16}::(?:{_H16}:){{3}}{_LS32}",
        rf"(?:{_H16}:){{2}}{_H16}::(?:{_H16}:){{2}}{_LS32}",
        rf"(?:{_H16}:){{3}}{_H16}::{_H16}:{_LS32}",
        rf"(?:{_H16}:){{4}}{_H16}::{_LS32}",
        rf"(?:{_H16}:){{6}}:{_H16}",
        rf"(?:{_H16}:){{6}}{_H16}::",
    ]
)
_IPVFUTURE = rf"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~{_SUB_DELIMS}:]+"
_IHOST = rf"(?:\[(?:{_IPV6}|{_IPVFUTURE})\]|{_IPV4}|(?:[{_IUNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"
_IUSERINFO = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_IAUTHORITY = rf"(?:{_IUSERINFO}@)?{_IHOST}(?::[0-9]*)?"
_ISEGMENT = rf"{_IPCHAR}*"
_ISEGMENT_NZ = rf"{_IPCHAR}+"
_ISEGMENT_NZ_NC = rf"(?:[{_IUNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
_ABEMPTY = rf"(?:/{_ISEGMENT})*"
_ABSOLUTE = rf"/(?:{_ISEGMENT_NZ}(?:/{_ISEGMENT})*)?"
_NOSCHEME = rf"{_ISEGMENT_NZ_NC}(?:/{_ISEGMENT})*"
_ROOTLESS = rf"{_ISEGMENT_NZ}(?:/{_ISEGMENT})*"
_IQUERY = rf"(?:{_IPCHAR}|[\ue000-\uf8ff/?])*"
_IFRAGMENT = rf"(?:{_IPCHAR}|[/?])*"
_TAIL = rf"(?:\?{_IQUERY})?(?:#{_IFRAGMENT})?"
_IRI = rf"[A-Za-z][A-Za-z0-9+\-.]*:(?://{_IAUTHORITY}{_ABEMPTY}|{_ABSOLUTE}|{_ROOTLESS}|){_TAIL}"
_IRELATIVE = rf"(?://{_IAUTHORITY}{_ABEMPTY}|{_ABSOLUTE}|{_NOSCHEME}|){_TAIL}"
_IRI_REFERENCE = re.compile(rf"(?:{_IRI}|{_IRELATIVE})")


@functools.lru_cache(maxsize=4096)
def is_iri_reference(value: str) -> bool:
    """True when ``value`` is an IRI-reference (SBOMs repeat URLs, hence the cache)."""
    return _IRI_REFERENCE.fullmatch(value) is not None
