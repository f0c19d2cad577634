"""Storage under injected faults: transient ones are retried to success, persistent ones are
a RegistryError naming the cause, and a failed write never leaves a tag corrupted."""

from __future__ import annotations

import dataclasses

import pytest

from konflux_supply.errors import RegistryError
from konflux_supply.oci import (
    AppendPolicy,
    Kind,
    Reference,
    RetryPolicy,
    append_layer,
    open_registry,
    read_attachments,
)
from tests.integration.conftest import RegistryService
from tests.integration.fault_proxy import FaultProxy
from tests.integration.oci.helpers import push_image, sig_layer

pytestmark = pytest.mark.integration

MANIFESTS = r"/manifests/sha256-"
BLOBS = r"/blobs/sha256:"


@pytest.fixture(scope="module")
def signed(registry: RegistryService) -> Reference:
    """An image with two signatures, written directly (not through the proxy)."""
    client, _ = open_registry(registry.ref("konflux/faults:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/faults:v1"), b"faults")
    for name in ("one", "two"):
        append_layer(client, subject, Kind.SIGNATURE, sig_layer(name), policy=AppendPolicy())
    return subject


def _via(proxy: FaultProxy, registry: RegistryService, subject: Reference, **retry: float) -> tuple:  # type: ignore[type-arg]
    options = registry.options
    if retry:
        options = dataclasses.replace(options, retry=dataclasses.replace(options.retry, **retry))
    client, ref = open_registry(
        f"{proxy.host}/{subject.repository}@{subject.digest}", options=options
    )
    return client, ref


TRANSIENT = [
    ("status", {"status": 500, "times": 2}),
    ("status", {"status": 502, "times": 1}),
    ("status", {"status": 503, "times": 3}),
    ("status", {"status": 429, "retry_after": "1", "times": 1}),
    ("reset", {"times": 2}),
    ("truncate", {"times": 2}),
    ("corrupt", {"times": 2}),
    ("oversize", {"times": 1}),
    ("slow", {"delay": 0.3, "times": 1}),
]


@pytest.mark.parametrize("target", [MANIFESTS, BLOBS])
@pytest.mark.parametrize(("fault", "settings"), TRANSIENT)
def test_transient_faults_are_retried_to_success(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    signed: Reference,
    target: str,
    fault: str,
    settings: dict[str, object],
) -> None:
    rule = fault_proxy.plan.add(fault, method="GET", path=target, **settings)
    client, ref = _via(fault_proxy, registry, signed)
    read = read_attachments(client, ref, Kind.SIGNATURE)
    assert [layer.data for layer in read.layers] == [sig_layer("one").data, sig_layer("two").data]
    assert all(layer.error is None for layer in read.layers)
    assert rule.fired == settings["times"]


PERSISTENT = [
    ("status", {"status": 500}, "HTTP 500"),
    ("status", {"status": 503}, "HTTP 503"),
    ("status", {"status": 429, "retry_after": "3600"}, "retry after 3600 s"),
    ("reset", {}, "connection"),
    ("truncate", {}, "truncated|connection|descriptor says"),
    ("corrupt", {}, "does not match"),
    ("oversize", {}, "descriptor|does not match"),
]


@pytest.mark.parametrize(("fault", "settings", "cause"), PERSISTENT)
def test_persistent_manifest_faults_name_the_cause(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    signed: Reference,
    fault: str,
    settings: dict[str, object],
    cause: str,
) -> None:
    fault_proxy.plan.add(fault, method="GET", path=MANIFESTS, times=None, **settings)
    client, ref = _via(fault_proxy, registry, signed)
    with pytest.raises(RegistryError, match=cause) as caught:
        read_attachments(client, ref, Kind.SIGNATURE)
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(("fault", "settings", "cause"), PERSISTENT[3:])
def test_persistent_blob_faults_are_kept_per_layer(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    signed: Reference,
    fault: str,
    settings: dict[str, object],
    cause: str,
) -> None:
    fault_proxy.plan.add(fault, method="GET", path=BLOBS, times=None, **settings)
    client, ref = _via(fault_proxy, registry, signed)
    read = read_attachments(client, ref, Kind.SIGNATURE)
    assert len(read.layers) == 2
    for layer in read.layers:
        assert layer.data is None
        assert isinstance(layer.error, RegistryError)
        assert layer.error.summary()


def test_slow_beyond_the_timeout(
    registry: RegistryService, fault_proxy: FaultProxy, signed: Reference
) -> None:
    fault_proxy.plan.add("slow", method="GET", path=MANIFESTS, times=None, delay=1.0)
    client, ref = _via(fault_proxy, registry, signed, timeout=0.3, attempts=2)
    with pytest.raises(RegistryError, match="timed out"):
        read_attachments(client, ref, Kind.SIGNATURE)


def _intact(registry: RegistryService, subject: Reference, expected: int) -> None:
    client, _ = open_registry(str(subject), options=registry.options)
    read = read_attachments(client, subject, Kind.SIGNATURE)
    assert read.manifest is not None
    assert len(read.layers) == expected
    assert all(layer.error is None for layer in read.layers)


@pytest.mark.parametrize(
    ("fault", "settings"),
    [
        ("status", {"status": 500, "times": 2}),
        ("reset", {"times": 1}),
        ("status", {"status": 503, "times": 1}),
    ],
)
def test_writes_survive_transient_faults(
    registry: RegistryService,
    fault_proxy: FaultProxy,
    fault: str,
    settings: dict[str, object],
) -> None:
    client, _ = open_registry(registry.ref("konflux/wfault:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/wfault:v1"), f"{fault}{settings}".encode())
    fault_proxy.plan.add(fault, method="PUT", path=MANIFESTS, **settings)
    fault_proxy.plan.add(fault, method="PATCH|PUT|POST", path=r"/blobs/uploads", **settings)
    proxied, ref = _via(fault_proxy, registry, subject)
    append_layer(proxied, ref, Kind.SIGNATURE, sig_layer("faulty"), policy=AppendPolicy())
    _intact(registry, subject, 1)


@pytest.mark.parametrize("settle", [0.0, 0.2])
@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", MANIFESTS), ("PUT|PATCH|POST", r"/blobs/uploads")],
)
def test_failed_writes_leave_the_tag_intact(
    registry: RegistryService, fault_proxy: FaultProxy, method: str, path: str, settle: float
) -> None:
    client, _ = open_registry(registry.ref("konflux/intact:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/intact:v1"), path.encode())
    append_layer(client, subject, Kind.SIGNATURE, sig_layer("first"), policy=AppendPolicy())
    fault_proxy.plan.add("status", method=method, path=path, times=None, status=500)
    proxied, ref = _via(fault_proxy, registry, subject)
    with pytest.raises(RegistryError, match="HTTP 500"):
        append_layer(
            proxied,
            ref,
            Kind.SIGNATURE,
            sig_layer(f"lost-{path}"),
            policy=AppendPolicy(settle=settle),
        )
    _intact(registry, subject, 1)


def test_truncated_put_response_does_not_corrupt(
    registry: RegistryService, fault_proxy: FaultProxy
) -> None:
    client, _ = open_registry(registry.ref("konflux/cut:v1"), options=registry.options)
    subject = push_image(client, registry.ref("konflux/cut:v1"), b"cut")
    fault_proxy.plan.add("reset", method="PUT", path=MANIFESTS, times=1)
    proxied, ref = _via(fault_proxy, registry, subject, attempts=3)
    append_layer(proxied, ref, Kind.SIGNATURE, sig_layer("after-reset"), policy=AppendPolicy())
    _intact(registry, subject, 1)


def test_retry_policy_bounds_the_wait(
    registry: RegistryService, fault_proxy: FaultProxy, signed: Reference
) -> None:
    fault_proxy.plan.add("status", method="GET", path=MANIFESTS, times=None, status=503)
    options = dataclasses.replace(registry.options, retry=RetryPolicy(attempts=2, backoff=0.01))
    client, ref = open_registry(
        f"{fault_proxy.host}/{signed.repository}@{signed.digest}", options=options
    )
    with pytest.raises(RegistryError, match="gave up after 2 attempts"):
        read_attachments(client, ref, Kind.SIGNATURE)
