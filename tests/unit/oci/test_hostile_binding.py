"""Binding of attachments to the right image and the right place: repository overrides,
mixed verdicts, and copies racing with signers."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from konflux_supply.errors import InputError, RegistryError, VerificationError
from konflux_supply.models.oci import Descriptor, RawManifest
from konflux_supply.oci import (
    HostFileLock,
    Kind,
    Layer,
    Limits,
    Reference,
    SizeLimitExceeded,
    copy_image,
    read_attachments,
    read_bundles,
)
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING
from konflux_supply.oci.referrers import attach_referrer
from konflux_supply.publish import PublishOptions, attach_sbom, attest_image, sign_image
from konflux_supply.sbom import parse as parse_sbom
from konflux_supply.signing.bundle import UNSAFE_IGNORE_TLOG
from konflux_supply.verify import (
    COSIGN_SIGN_PREDICATE,
    AllOf,
    Keys,
    PredicateType,
    VerifyOptions,
    verify_attestations,
    verify_image,
    verify_signatures,
)
from tests.unit.oci.memory import MemoryRegistry
from tests.unit.oci.test_layout_referrers import _bundle_referrer
from tests.unit.oci.test_verify import KEY, OTHER, OTHER_PUB, POLICY, PUB, _bundle, new_image

_MINIMAL_CYCLONEDX = b'{"bomFormat":"CycloneDX","specVersion":"1.5"}'


@pytest.mark.parametrize(
    "override",
    [Reference("elsewhere.example", "team/sigs"), Reference("", "/tmp/sigs", layout=True)],
)
def test_a_repository_override_on_another_registry_is_refused_not_misplaced(
    override: Reference,
) -> None:
    """One registry client serves the image; writing the override's repository path there
    would put signatures on the wrong host while reporting the override as the location."""
    registry = MemoryRegistry()
    image = new_image(registry, "a")
    with pytest.raises(InputError, match="another registry"):
        sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY, repository=override))
    with pytest.raises(InputError, match="another registry"):
        attach_sbom(
            registry,
            image,
            parse_sbom(_MINIMAL_CYCLONEDX),
            options=PublishOptions(policy=POLICY, repository=override),
        )
    assert registry.tags == {"a": image.digest}
    with pytest.raises(InputError, match="another registry"):
        read_attachments(registry, image, Kind.SIGNATURE, repository=override)
    with pytest.raises(InputError, match="another registry"):
        verify_signatures(registry, image, [PUB], options=VerifyOptions(repository=override))


def test_a_repository_override_on_the_same_registry_works() -> None:
    registry = MemoryRegistry()
    image = new_image(registry, "a")
    override = Reference(image.registry, "team/sigs")
    attached = sign_image(
        registry, image, KEY, options=PublishOptions(policy=POLICY, repository=override)
    )
    assert attached.location.startswith("registry.example/team/sigs:sha256-")
    verify_signatures(registry, image, [PUB], options=VerifyOptions(repository=override))


class FlakyBlobs(MemoryRegistry):
    """A registry whose named blobs cannot be read (a persistent 5xx on them)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: set[str] = set()

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        if descriptor.digest in self.broken:
            raise RegistryError(f"GET blob {descriptor.digest}: HTTP 503 (gave up)")
        return super().get_blob(repository, descriptor, limit=limit)


def test_an_unreadable_attestation_is_not_a_definite_no_for_its_type() -> None:
    """A verified attestation of another type must not turn "could not read the one that
    matters" into "none of that type" (exit 1 instead of 3)."""
    registry = FlakyBlobs()
    image = new_image(registry, "a")
    attest_image(
        registry,
        image,
        KEY,
        b'{"a":1}',
        "https://example.com/other",
        options=PublishOptions(policy=POLICY),
    )
    wanted = attest_image(
        registry, image, KEY, b'{"b":2}', "slsaprovenance", options=PublishOptions(policy=POLICY)
    )
    registry.broken.add(wanted.layer.digest)
    with pytest.raises(RegistryError, match="could not be read"):
        verify_attestations(registry, image, AllOf(Keys([PUB]), PredicateType("slsaprovenance")))
    registry.broken.clear()
    verified = verify_attestations(
        registry, image, AllOf(Keys([PUB]), PredicateType("slsaprovenance"))
    )
    assert len(verified.attestations) == 1


class SignerDuringCopy(MemoryRegistry):
    """The first read of a ``.sig`` tag starts a signer sharing the lock, and waits (at most
    0.5 s) for it to finish before answering with what it read."""

    def __init__(self, subject: Reference) -> None:
        super().__init__()
        self.subject = subject
        self.signer: threading.Thread | None = None

    def get_manifest(self, repository: str, reference: str) -> RawManifest | None:
        found = super().get_manifest(repository, reference)
        if reference.endswith(".sig") and self.signer is None:
            self.signer = threading.Thread(
                target=sign_image,
                args=(self, self.subject, OTHER),
                kwargs={"options": PublishOptions(policy=POLICY)},
            )
            self.signer.start()
            self.signer.join(0.5)
        return found


def test_copy_into_a_missing_sig_tag_does_not_drop_a_concurrent_signature() -> None:
    source = MemoryRegistry()
    image = new_image(source, "a")
    sign_image(source, image, KEY, options=PublishOptions(policy=POLICY))
    destination = SignerDuringCopy(image)
    copy_image(source, image, destination, image, policy=POLICY, kinds=[Kind.SIGNATURE])
    assert destination.signer is not None
    destination.signer.join()
    verified = verify_signatures(destination, image, [PUB, OTHER_PUB])
    assert len(verified.signatures) == 2


def test_copy_to_a_pinned_destination_checks_the_resolved_digest() -> None:
    source = MemoryRegistry()
    image = new_image(source, "a")
    other = new_image(source, "b")
    destination = MemoryRegistry()
    by_tag = Reference(image.registry, image.repository, tag="a")
    with pytest.raises(InputError, match="destination digest"):
        copy_image(source, by_tag, destination, other, policy=POLICY, kinds=[])
    assert not destination.manifests


def test_a_host_lock_directory_others_can_write_is_refused(tmp_path: Path) -> None:
    """The default lock directory has a predictable name under the temp dir: one created by
    someone else would let them hold our locks (every append times out) or plant links."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with (
        pytest.raises(InputError, match="writable by others"),
        HostFileLock(shared, private=True).hold("k", 1),
    ):
        pass
    if os.getuid() == 0:
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 65534, 65534)
        with (
            pytest.raises(InputError, match="owned by"),
            HostFileLock(foreign, private=True).hold("k", 1),
        ):
            pass
    with HostFileLock(shared).hold("k", 1):  # an explicit shared directory: caller's choice
        pass
    private = tmp_path / "private"
    lock = HostFileLock(private, private=True)
    with lock.hold("k", 1):
        pass
    (victim := tmp_path / "victim").write_text("keep")
    for name in os.listdir(private):
        os.unlink(private / name)
        os.symlink(victim, private / name)
    with pytest.raises(InputError, match="lock file"), lock.hold("k", 1):
        pass
    assert victim.read_text() == "keep"


class CountingBlobs(MemoryRegistry):
    def __init__(self) -> None:
        super().__init__(referrers_api=True)
        self.fetched = 0

    def get_blob(self, repository: str, descriptor: Descriptor, *, limit: int) -> bytes:
        self.fetched += 1
        return super().get_blob(repository, descriptor, limit=limit)


def test_referrer_signatures_count_against_max_signatures_before_any_fetch() -> None:
    """Thousands of referrers with a thousand layers each must not all be fetched."""
    registry = CountingBlobs()
    image = new_image(registry, "a")
    descriptor = registry.head_manifest("", "a")
    assert descriptor is not None
    for n in range(3):
        layer = Layer(SIMPLE_SIGNING, b"%d" % n, {SIGNATURE_ANNOTATION: ""})
        attach_referrer(registry, image, descriptor, Kind.SIGNATURE, layer, policy=POLICY)
    options = VerifyOptions(referrers=True)
    registry.limits = Limits(max_signatures=2)
    with pytest.raises(SizeLimitExceeded, match="more than the limit of 2"):
        verify_signatures(registry, image, [PUB], options=options)
    assert registry.fetched == 0
    registry.limits = Limits()
    sign_image(registry, image, KEY, options=PublishOptions(policy=POLICY, referrers=True))
    verified = verify_signatures(registry, image, [PUB], options=VerifyOptions(referrers=True))
    assert len(verified.signatures) == 1


def test_bundle_referrers_count_against_max_signatures_before_any_fetch() -> None:
    registry = CountingBlobs()
    image = new_image(registry, "a")
    descriptor = registry.head_manifest("", "a")
    assert descriptor is not None
    for n in range(3):
        _bundle_referrer(registry, image, descriptor, bundle=b'{"n":%d}' % n)
    registry.fetched = 0
    registry.limits = Limits(max_signatures=2)
    with pytest.raises(SizeLimitExceeded, match="more than the limit of 2"):
        read_bundles(registry, image)
    assert registry.fetched == 0
    registry.limits = Limits(max_signatures=3)
    assert len(read_bundles(registry, image)) == 3


def test_a_signature_bundle_is_not_also_an_attestation() -> None:
    """cosign v3 signs images with a DSSE statement of predicate type .../cosign/sign/v1:
    counted as an attestation too, one signature would satisfy a gate wanting both."""
    registry = MemoryRegistry(referrers_api=True)
    image = new_image(registry, "a")
    _bundle(registry, image, COSIGN_SIGN_PREDICATE)
    options = VerifyOptions(bundles=True)
    assert verify_signatures(
        registry, image, Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), options=options
    ).signatures
    with pytest.raises(VerificationError, match="no matching attestations"):
        verify_image(
            registry, image, Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), options=options
        )
    with pytest.raises(VerificationError):
        verify_attestations(
            registry, image, Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), options=options
        )
    wanted = verify_attestations(
        registry,
        image,
        AllOf(
            Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), PredicateType(COSIGN_SIGN_PREDICATE)
        ),
        options=options,
    )
    assert len(wanted.attestations) == 1
    _bundle(registry, image, "https://slsa.dev/provenance/v1")
    both = verify_image(
        registry, image, Keys([PUB], transparency_log=UNSAFE_IGNORE_TLOG), options=options
    )
    assert [a.predicate_type for a in both.attestations] == ["https://slsa.dev/provenance/v1"]


def _hold_forever(directory: str, key: str, ready: Any) -> None:
    with HostFileLock(directory).hold(key, 5):
        ready.set()
        time.sleep(60)


def test_a_host_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(str(tmp_path), "sig-A", ready))
    holder.start()
    try:
        assert ready.wait(30)
        lock = HostFileLock(tmp_path)
        with lock.hold("sig-B", 1):  # per-key: another digest is not blocked
            pass
        with pytest.raises(RegistryError, match="timed out"), lock.hold("sig-A", 0.3):
            pass
    finally:
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(10)
    with HostFileLock(tmp_path).hold("sig-A", 5):
        pass


class Repositories:
    """One in-memory registry per repository (MemoryRegistry itself ignores the name)."""

    name = "repositories"
    limits = Limits()

    def __init__(self) -> None:
        self.repos: dict[str, MemoryRegistry] = {}

    def _repo(self, repository: str) -> MemoryRegistry:
        return self.repos.setdefault(repository, MemoryRegistry(referrers_api=True))

    def __getattr__(self, method: str) -> Any:
        return lambda repository, *args, **kwargs: getattr(self._repo(repository), method)(
            repository, *args, **kwargs
        )


def test_referrers_written_under_a_repository_override_are_read_there() -> None:
    registry = Repositories()
    image = new_image(registry._repo("team/app"), "a")  # type: ignore[arg-type]
    image = Reference(image.registry, "team/app", tag="a", digest=image.digest)
    override = Reference(image.registry, "team/sigs")
    sign_image(
        registry,
        image,
        KEY,
        options=PublishOptions(policy=POLICY, repository=override, referrers=True),
    )  # type: ignore[arg-type]
    assert registry.repos["team/sigs"].manifests
    options = VerifyOptions(repository=override, referrers=True)
    verified = verify_signatures(registry, image, [PUB], options=options)  # type: ignore[arg-type]
    assert [s.source for s in verified.signatures] == ["referrer"]
