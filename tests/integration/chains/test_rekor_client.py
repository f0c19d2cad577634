"""publish.RekorClient against our fake Rekor: retries, 409 read-back, typed one-line errors,
and the log's key pinned or (only when asked) read from the log."""

from __future__ import annotations

import pytest

from konflux_supply import signing
from konflux_supply.errors import BackendUnavailable, InputError, VerificationError
from konflux_supply.oci import RetryPolicy
from konflux_supply.publish import RekorClient
from tests.integration.chains.conftest import FAST
from tests.integration.fake_rekor import FakeRekor
from tests.unit.chains._helpers import key_signer

pytestmark = pytest.mark.integration
PAYLOAD = b'{"hello":"log"}'


def test_transient_failures_are_retried(rekor: FakeRekor, rekor_client: RekorClient) -> None:
    signer = key_signer()
    rekor.transient = 2
    retried: list[str] = []
    client = RekorClient(
        rekor.url,
        public_key=rekor.public_pem,
        retry=RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02, on_retry=retried.append),
    )
    entry = client.log_signature(PAYLOAD, signer.sign(PAYLOAD), signer.public_key_pem())
    assert entry.new
    assert rekor.posts == 3
    assert len(retried) == 2
    assert "HTTP 503" in retried[0]


def test_twice_is_one_entry_read_back(rekor: FakeRekor, rekor_client: RekorClient) -> None:
    signer = key_signer()
    signature = signer.sign(PAYLOAD)
    first = rekor_client.log_signature(PAYLOAD, signature, signer.public_key_pem())
    again = rekor_client.log_signature(PAYLOAD, signature, signer.public_key_pem())
    assert first.new
    assert not again.new
    assert (again.log_index, again.body, again.uuid) == (first.log_index, first.body, first.uuid)
    assert len(rekor.entries) == 1
    rekor.mode = "no-location"
    with pytest.raises(BackendUnavailable, match="409 without"):
        rekor_client.log_signature(PAYLOAD, signature, signer.public_key_pem())


def test_errors_are_typed_and_one_line(rekor: FakeRekor, rekor_client: RekorClient) -> None:
    signer = key_signer()
    # the log rejects a signature that does not verify (HTTP 400)
    with pytest.raises(BackendUnavailable) as caught:
        rekor_client.log_signature(PAYLOAD, signer.sign(b"other"), signer.public_key_pem())
    assert "HTTP 400" in caught.value.summary()
    assert "\n" not in caught.value.summary()
    assert rekor.url in caught.value.summary()
    rekor.mode = "500"
    with pytest.raises(BackendUnavailable, match=r"HTTP 500: injected \(after 3 attempts\)"):
        rekor_client.log_signature(PAYLOAD, signer.sign(PAYLOAD), signer.public_key_pem())
    rekor.mode = "bad-set"
    with pytest.raises(VerificationError, match="SET"):
        rekor_client.log_signature(PAYLOAD, signer.sign(PAYLOAD), signer.public_key_pem())


def test_the_served_key_only_when_trusted(rekor: FakeRekor) -> None:
    with pytest.raises(InputError) as caught:
        RekorClient(rekor.url)
    assert caught.value.field == "transparency.public-key"
    with pytest.raises(InputError) as caught:
        RekorClient(rekor.url, public_key=b"not a key")
    assert caught.value.field == "transparency.public-key"
    with RekorClient(rekor.url, trust_served_key=True, retry=FAST) as client:
        assert client.trusted_logs()[0].log_id == rekor.log_id
        signer = key_signer()
        envelope = signing.dsse.sign(b'{"_type":"x"}', signer)
        entry = client.log_envelope(envelope, signer.public_key_pem())
        assert entry.kind == "dsse"
    rekor.mode = "500"
    with (
        RekorClient(rekor.url, trust_served_key=True, retry=FAST) as client,
        pytest.raises(BackendUnavailable, match="HTTP 500"),
    ):
        client.trusted_logs()
