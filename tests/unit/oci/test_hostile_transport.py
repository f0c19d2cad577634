"""A hostile or broken registry against the HTTP client: headers that are not what they seem,
credentials steered to other hosts or plain HTTP, pagination that never ends.

Every case must end in a typed :mod:`konflux_supply.errors` exception (or the right answer),
never a foreign exception, a hang, or a secret sent where it does not belong.
"""

from __future__ import annotations

import base64

import pytest

from konflux_supply.errors import RegistryError
from konflux_supply.models.oci import Descriptor
from konflux_supply.oci import Credentials
from tests.unit.oci.scripted import Answer
from tests.unit.oci.test_http import DIGEST, HOST, make, manifest_answer

BASIC = "Basic " + base64.b64encode(b"u:secret").decode()
CREDS = {HOST: Credentials("u", "secret")}


@pytest.mark.parametrize("value", ["²", "³", "¹", "٣"])
def test_non_ascii_digits_in_numeric_headers_are_not_numbers(value: str) -> None:
    """``str.isdigit()`` is true for '²' but ``int('²')`` raises ValueError."""
    registry, _, _ = make(lambda s: Answer(503, headers={"Retry-After": value}))
    with pytest.raises(RegistryError, match="HTTP 503"):
        registry.get_manifest("ns/app", DIGEST)
    registry, _, _ = make(lambda s: manifest_answer(**{"Content-Length": value}))
    assert registry.get_manifest("ns/app", DIGEST) is not None
    data = b"x" * 10
    registry, _, _ = make(lambda s: Answer(200, data, {"Content-Length": value}))
    assert registry.get_blob("r", Descriptor.for_bytes(data, "m"), limit=100) == data
    headers = {"Docker-Content-Digest": DIGEST, "Content-Type": "x", "Content-Length": value}
    registry, _, _ = make(lambda s: Answer(200, b"", headers))
    with pytest.raises(RegistryError, match="without a digest, size or media type"):
        registry.head_manifest("ns/app", DIGEST)
