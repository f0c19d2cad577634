"""PEM blocks the way Go's ``encoding/pem`` reads and writes them.

cosign decodes the *first* well-formed block of a file (``pem.Decode``) and ignores text around
it; it writes 64-column standard base64 with a trailing newline. We do the same, with two
deliberate differences: a body that is not valid base64 is an error naming the block (Go skips
to the next block silently), and inputs are size-capped before decoding.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from konflux_supply.errors import InputError

__all__ = ["MAX_PEM_BYTES", "PemBlock", "decode_pem", "encode_pem", "looks_like_pem"]

# Keys and certificates are a few KiB; anything much larger is the wrong file.
MAX_PEM_BYTES = 1024 * 1024

_BEGIN = re.compile(rb"(?:^|\n)-----BEGIN ([\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)-----[ \t\r]*\n")
_HEADER = re.compile(rb"^([\x21-\x39\x3b-\x7e][\x20-\x39\x3b-\x7e]*):[ \t]*(.*)$")
_WHITESPACE = re.compile(rb"[ \t\r\n]+")


@dataclass(frozen=True)
class PemBlock:
    """One decoded PEM block: its label (``type``), RFC 1421 headers and DER bytes."""

    type: str
    der: bytes
    headers: dict[str, str] = field(default_factory=dict)


def looks_like_pem(data: bytes | str) -> bool:
    """True if the data contains a PEM ``-----BEGIN`` line (inline PEM rather than a path)."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return _BEGIN.search(raw) is not None


def decode_pem(data: bytes, *, source: str | None = None) -> PemBlock:
    """Decode the first PEM block in ``data`` or raise :class:`InputError`.

    Mirrors Go's ``pem.Decode``: leading text is skipped, headers (``Key: value`` lines before a
    blank line) are returned, the body is standard base64 with line breaks.
    """
    if len(data) > MAX_PEM_BYTES:
        raise InputError(f"PEM input is larger than {MAX_PEM_BYTES} bytes", source=source)
    begin = _BEGIN.search(data)
    if begin is None:
        raise InputError("invalid pem block: no '-----BEGIN' line found", source=source)
    label = begin.group(1)
    start = begin.end()
    end_marker = b"-----END " + label + b"-----"
    # The END line must start a line (possibly right after the BEGIN line for an empty body).
    end = data.find(b"\n" + end_marker, start - 1)
    if end < 0:
        raise InputError(
            f"invalid pem block: no '-----END {label.decode()}-----' line", source=source
        )
    body = data[start : end + 1]
    headers: dict[str, str] = {}
    lines = body.split(b"\n")
    if lines and b":" in lines[0]:
        index = 0
        while index < len(lines):
            line = lines[index].rstrip(b"\r")
            index += 1
            if not line.strip():
                break
            match = _HEADER.match(line)
            if match is None:
                raise InputError("invalid pem block: malformed header line", source=source)
            headers[match.group(1).decode("ascii")] = match.group(2).decode("ascii", "replace")
        lines = lines[index:]
    payload = _WHITESPACE.sub(b"", b"\n".join(lines))
    try:
        der = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(
            f"invalid pem block: the {label.decode()} body is not valid base64", source=source
        ) from None
    return PemBlock(type=label.decode("ascii"), der=der, headers=headers)


def encode_pem(label: str, der: bytes) -> bytes:
    """Encode like Go's ``pem.EncodeToMemory``: 64-column base64 lines, trailing newline."""
    text = base64.b64encode(der)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    head = f"-----BEGIN {label}-----\n".encode("ascii")
    tail = f"-----END {label}-----\n".encode("ascii")
    return head + b"".join(line + b"\n" for line in lines) + tail
