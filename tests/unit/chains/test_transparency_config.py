"""``transparency.*`` in chains-config: Chains' keys and defaults, our keys for the log's key,
and every configuration that could not be honoured refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from konflux_supply import chains
from konflux_supply.chains._transparency import wanted
from konflux_supply.errors import InputError
from tests.unit.chains._helpers import key_signer, task_run

PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)


def _on(**extra: str) -> dict[str, str]:
    return {"transparency.enabled": "true", "transparency.public-key": PEM.decode(), **extra}


def test_defaults_as_chains() -> None:
    config = chains.Config.from_data({})
    assert not config.transparency
    assert config.transparency_url == "https://rekor.sigstore.dev"
    on = chains.Config.from_data(_on())
    assert on.transparency
    assert not on.transparency_manual
    assert on.transparency_url == "https://rekor.sigstore.dev"
    assert on.transparency_public_key == PEM
    manual = chains.Config.from_data(_on(**{"transparency.enabled": "manual"}))
    assert manual.transparency
    assert manual.transparency_manual
    url = chains.Config.from_data(_on(**{"transparency.url": "http://rekor.rekor-system:3000/"}))
    assert url.transparency_url == "http://rekor.rekor-system:3000"
    assert not any("transparency" in warning for warning in url.warnings)


def test_key_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "rekor.pub"
    path.write_bytes(PEM)
    config = chains.Config.from_data(_on(**{"transparency.public-key": str(path)}))
    assert config.transparency_public_key == PEM
    with pytest.raises(InputError) as caught:
        chains.Config.from_data(_on(**{"transparency.public-key": str(tmp_path / "none.pub")}))
    assert caught.value.field == "transparency.public-key"


def test_served_key_only_over_https_or_loopback() -> None:
    served = {"transparency.enabled": "true", "transparency.trust-served-key": "true"}
    assert chains.Config.from_data(served).transparency_trust_served_key
    loopback = {**served, "transparency.url": "http://127.0.0.1:3000"}
    assert chains.Config.from_data(loopback).transparency
    with pytest.raises(InputError) as caught:
        chains.Config.from_data({**served, "transparency.url": "http://rekor.internal"})
    assert caught.value.field == "transparency.url"
    assert "plain HTTP" in caught.value.summary()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"transparency.enabled": "true"}, "transparency.public-key", "public key"),
        ({"transparency.enabled": "manual"}, "transparency.public-key", "public key"),
        (
            _on(**{"transparency.public-key": "-----BEGIN PUBLIC KEY-----\nxx\n"}),
            "transparency.public-key",
            "",
        ),
        (_on(**{"transparency.url": "ftp://rekor"}), "transparency.url", "http(s)"),
        (_on(**{"transparency.url": "rekor.sigstore.dev"}), "transparency.url", "http(s)"),
        (_on(**{"transparency.url": "https://u:p@rekor"}), "transparency.url", "credentials"),
        (_on(**{"transparency.url": "https://rekor/?x=1"}), "transparency.url", "query"),
        (_on(**{"transparency.url": "https://rekor:99999"}), "transparency.url", "URL"),
        (_on(**{"transparency.url": ""}), "transparency.url", "URL"),
        (
            _on(**{"storage.oci.encoding-format": "sigstore-bundle"}),
            "transparency.enabled",
            "not implemented",
        ),
    ],
)
def test_refused_with_the_key_named(data: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        chains.Config.from_data(data)
    assert caught.value.field == field
    assert words in caught.value.summary()


def test_off_values_and_a_malformed_url_while_off() -> None:
    odd = chains.Config.from_data({"transparency.enabled": "yes", "transparency.url": "::"})
    assert not odd.transparency
    assert any("transparency.enabled" in w and "as false" in w for w in odd.warnings)
    assert not chains.Config.from_data({"transparency.enabled": "false"}).transparency


def test_manual_logs_only_runs_that_ask() -> None:
    manual = chains.Config.from_data(_on(**{"transparency.enabled": "manual"}))
    assert not wanted(manual, {})
    assert not wanted(manual, {"chains.tekton.dev/transparency-upload": "yes"})
    assert wanted(manual, {"chains.tekton.dev/transparency-upload": "true"})
    assert wanted(chains.Config.from_data(_on()), {})
    assert not wanted(
        chains.Config.from_data({}), {"chains.tekton.dev/transparency-upload": "true"}
    )


def test_sign_run_refuses_what_it_cannot_log() -> None:
    """A Config built directly skips from_configmap's checks: sign_run still refuses."""
    base = chains.Config.from_data(_on())
    bundles = chains.Config(**{**base.__dict__, "oci_encoding": "sigstore-bundle"})
    with pytest.raises(InputError) as caught:
        chains.sign_run(task_run(), bundles, signer=key_signer())
    assert caught.value.field == "transparency.enabled"
    keyless = chains.Config(**{**base.__dict__, "transparency_public_key": None})
    with pytest.raises(InputError) as caught:
        chains.sign_run(task_run(), keyless, signer=key_signer())
    assert caught.value.field == "transparency.public-key"
