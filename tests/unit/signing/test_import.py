"""import-key-pair accepts and rejects exactly what cosign does (our fixture table)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply import signing
from konflux_supply.errors import InputError

from . import _cosign_spec

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "signing" / "import"
VERDICTS: dict[str, str] = json.loads((FIXTURES / "verdicts.json").read_text())


@pytest.mark.parametrize("name", sorted(VERDICTS))
def test_import_verdicts(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    verdict = VERDICTS[name]
    if verdict == "ok":
        pair = signing.import_key_pair(data, b"pw", source=name, scrypt=signing.LEGACY_SCRYPT)
        _, plaintext = _cosign_spec.decode(pair.private_pem, b"pw")
        header = 2 + (plaintext[1] & 0x7F if plaintext[1] & 0x80 else 0)
        # re-wrapped as PKCS#8: SEQUENCE { INTEGER 0, SEQUENCE AlgorithmIdentifier, ... }
        assert plaintext[header : header + 4] == b"\x02\x01\x00\x30"
        signer = signing.signer_from_pem(pair.private_pem, secrets=lambda what: b"pw")
        signing.load_verifier(pair.public_pem).verify(signer.sign(b"x"), b"x")
    else:
        with pytest.raises(InputError) as info:
            signing.import_key_pair(data, b"pw", source=name)
        assert info.value.message.startswith(verdict), info.value.message
        assert info.value.source == name
