"""Hostile documents for the parsers: deep nesting, trailing newlines, near-valid manifests,
indexes, annotations and referrers listings. Only typed errors may come out."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError, RegistryError, VerificationError
from konflux_supply.models.dsse import IN_TOTO_PAYLOAD_TYPE
from konflux_supply.models.oci import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    is_digest,
    parse_manifest,
)
from konflux_supply.oci import (
    DockerConfig,
    Layer,
    Limits,
    Reference,
    RegistryOptions,
    parse_reference,
    read_bundles,
)
from konflux_supply.oci._layout import LayoutRegistry
from konflux_supply.oci.cosign import SIGNATURE_ANNOTATION, SIMPLE_SIGNING, Kind, append_layer
from konflux_supply.publish import attestation_layer, image_statement, signature_layer
from konflux_supply.signing import dsse
from konflux_supply.verify import verify_attestations, verify_signatures
from tests.unit.oci.memory import MemoryRegistry
from tests.unit.oci.scripted import Answer
from tests.unit.oci.test_http import make
from tests.unit.oci.test_layout_referrers import POLICY, _bundle_referrer, image
from tests.unit.oci.test_verify import KEY, PUB, new_image

HEX = "a" * 64
DEEP = b'{"schemaVersion":2,"layers":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_deep_nesting_is_an_input_error_not_a_recursion_error() -> None:
    with pytest.raises(InputError, match="not JSON"):
        parse_manifest(DEEP)


def test_deeply_nested_manifest_from_a_registry_is_a_registry_error() -> None:
    registry, _, _ = make(lambda s: Answer(200, DEEP, {"Content-Type": OCI_MANIFEST}))
    with pytest.raises(RegistryError, match="invalid manifest"):
        registry.get_manifest("ns/app", "v1")


def test_deeply_nested_index_json_in_a_layout_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_bytes(DEEP)
    with pytest.raises(InputError, match=r"malformed index\.json"):
        LayoutRegistry(tmp_path).get_manifest("", "v1")


def test_deeply_nested_bundle_is_an_error_on_that_referrer() -> None:
    registry = MemoryRegistry(referrers_api=True)
    subject = image(registry, "v1", b"content")
    descriptor = registry.head_manifest("", "v1")
    assert descriptor is not None
    _bundle_referrer(registry, subject, descriptor, bundle=b"[" * 100_000 + b"]" * 100_000)
    (found,) = read_bundles(registry, subject)
    assert isinstance(found.error, RegistryError)


def test_a_signed_but_deeply_nested_payload_fails_verification() -> None:
    registry = MemoryRegistry()
    subject = new_image(registry, "a")
    payload = b'{"critical":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    signature = base64.b64encode(KEY.sign(payload)).decode()
    layer = Layer(SIMPLE_SIGNING, payload, {SIGNATURE_ANNOTATION: signature})
    append_layer(registry, subject, Kind.SIGNATURE, layer, policy=POLICY)
    with pytest.raises(VerificationError, match="not a simple-signing payload"):
        verify_signatures(registry, subject, [PUB])
    assert signature_layer(subject, KEY).data  # the good path still works


@pytest.mark.parametrize(
    "text",
    [
        f"quay.io/ns/app@sha256:{HEX}\n",
        "quay.io/ns/app\n",
        "quay.io/ns/app:v1\n",
        "quay.io\n/ns/app:v1",
        f"oci:/tmp/x@sha256:{HEX}\n",
        "oci:/tmp/x:v1\n",
    ],
)
def test_a_trailing_newline_is_not_part_of_a_valid_reference(text: str) -> None:
    with pytest.raises(InputError):
        parse_reference(text)


@pytest.mark.parametrize("text", ["quay.io/ns/../app:v1", "quay.io/ns/./app", "quay.io/ns//app"])
def test_dot_and_empty_path_components_are_refused(text: str) -> None:
    """The distribution grammar forbids them; ``..`` would address another repository."""
    with pytest.raises(InputError):
        parse_reference(text)


def test_digests_with_a_trailing_newline_are_not_digests() -> None:
    assert not is_digest(f"sha256:{HEX}\n")
    with pytest.raises(InputError):
        Reference("quay.io", "ns/app").with_digest(f"sha256:{HEX}\n")
    with pytest.raises(ValueError, match="digest"):
        Descriptor(media_type="m", size=1, digest=f"sha256:{HEX}\n")


_CLEAN = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))


@given(st.text(max_size=60) | st.text(alphabet="abc/:@.-_\n\t 0123456789", max_size=60))
def test_accepted_references_hold_only_grammar_characters(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InputError:
        return
    for part in (ref.registry, ref.tag or "", ref.digest or ""):
        assert all(c not in part for c in "\n\r\t /"), ref
    if not ref.layout:
        assert all(c.isascii() and (c.isalnum() or c in "._-/") for c in ref.repository), ref


_scalar = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_value = st.recursive(
    _scalar,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c),
    max_leaves=8,
)
_digest = st.sampled_from([f"sha256:{HEX}", f"sha256:{HEX}\n", "sha256:", "md5:x", ""]) | _value
_descriptor = st.fixed_dictionaries(
    {"mediaType": st.text(max_size=10) | _value, "size": st.integers() | _value, "digest": _digest},
    optional={
        "annotations": st.dictionaries(st.text(max_size=6), st.text(max_size=6) | _value) | _value,
        "artifactType": st.text(max_size=6) | _value,
        "platform": _value,
        "urls": _value,
        "data": _value,
    },
)
_manifest = st.fixed_dictionaries(
    {"schemaVersion": st.sampled_from([2, 2.0, "2", 1, None])},
    optional={
        "mediaType": st.sampled_from([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "x"]) | _value,
        "config": _descriptor | _value,
        "layers": st.lists(_descriptor, max_size=3) | _value,
        "manifests": st.lists(_descriptor, max_size=3) | _value,
        "annotations": st.dictionaries(st.text(max_size=6), st.text(max_size=6)) | _value,
        "subject": _descriptor | _value,
        "artifactType": _value,
    },
)


@given(_manifest, st.sampled_from([None, OCI_MANIFEST, OCI_INDEX, "application/json", "x/y"]))
def test_near_valid_manifests_and_indexes_give_input_errors_only(
    document: dict[str, object], content_type: str | None
) -> None:
    data = json.dumps(document).encode()
    try:
        raw = parse_manifest(data, content_type)
    except InputError:
        return
    doc = raw.document
    assert ("manifests" in document) == raw.is_index
    for descriptor in [
        *(getattr(doc, "layers", None) or []),
        *(getattr(doc, "manifests", None) or []),
    ]:
        assert is_digest(descriptor.digest)
        assert all(isinstance(v, str) for v in (descriptor.annotations or {}).values())


@given(_manifest | _value, st.sampled_from([OCI_INDEX, "application/json"]))
def test_referrers_listings_give_registry_errors_only(document: object, content_type: str) -> None:
    body = json.dumps(document).encode()
    registry, _, _ = make(lambda s: Answer(200, body, {"Content-Type": content_type}))
    try:
        index = registry.referrers("ns/app", f"sha256:{HEX}")
    except RegistryError:
        return
    if index is not None:
        assert all(is_digest(d.digest) for d in index.manifests)


def test_a_signed_but_deeply_nested_statement_fails_verification() -> None:
    registry = MemoryRegistry()
    subject = new_image(registry, "a")
    statement = b'{"subject":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    envelope = dsse.sign(statement, KEY, IN_TOTO_PAYLOAD_TYPE)
    layer = attestation_layer(envelope, "https://example.com/p")
    append_layer(registry, subject, Kind.ATTESTATION, layer, policy=POLICY)
    with pytest.raises(VerificationError, match="not JSON"):
        verify_attestations(registry, subject, [PUB])


def _returns_soon(call: Callable[[], object]) -> BaseException | None:
    """Run ``call`` in a thread; fail if it is still blocked after 5 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    return outcome[0] if outcome else TimeoutError("still blocked after 5 s")


def _unblock(fifo: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)


def test_a_fifo_in_a_layout_is_refused_not_waited_on(tmp_path: Path) -> None:
    layout = LayoutRegistry(tmp_path / "a")
    subject = image(layout, "v1", b"content")
    manifest = layout.get_manifest("", "v1")
    assert manifest is not None
    config = manifest.manifest.config
    blob = tmp_path / "a" / "blobs" / "sha256" / config.digest.split(":")[1]
    blob.unlink()
    os.mkfifo(blob)
    try:
        error = _returns_soon(lambda: layout.get_blob("", config, limit=1000))
        assert isinstance(error, RegistryError), error
        error = _returns_soon(lambda: list(layout.iter_blob("", config)))
        assert isinstance(error, RegistryError), error
    finally:
        _unblock(blob)
    index = tmp_path / "b" / "index.json"
    index.parent.mkdir()
    os.mkfifo(index)
    try:
        error = _returns_soon(lambda: LayoutRegistry(index.parent).get_manifest("", "v1"))
        assert isinstance(error, InputError), error
    finally:
        _unblock(index)
    assert subject.digest


def test_an_oversized_index_json_is_refused_before_reading_it_all(tmp_path: Path) -> None:
    index = {"schemaVersion": 2, "manifests": [], "annotations": {"x": "y" * 4096}}
    (tmp_path / "index.json").write_text(json.dumps(index))
    layout = LayoutRegistry(tmp_path, RegistryOptions(limits=Limits(max_manifest_bytes=1024)))
    with pytest.raises(InputError, match="larger than"):
        layout.get_manifest("", "v1")


def test_deeply_nested_local_inputs_are_input_errors(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    subject = Reference("quay.io", "ns/app", digest=f"sha256:{HEX}")
    with pytest.raises(InputError, match="nested too deeply"):
        image_statement(subject, deep.encode(), "slsaprovenance")
    (config := tmp_path / "config.json").write_text(deep)
    with pytest.raises(InputError, match="nested too deeply"):
        DockerConfig.from_file(config)
