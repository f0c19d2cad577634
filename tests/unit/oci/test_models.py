"""OCI documents: exact bytes kept, ggcr byte layout on write, type confusion rejected."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.models.oci import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
    digest_of,
    parse_manifest,
)

H = "sha256:" + "1" * 64
CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": H}


def _doc(**fields: object) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def test_descriptor_key_order_is_ggcr() -> None:
    descriptor = Descriptor(
        media_type="m",
        size=3,
        digest=H,
        annotations={"z": "1", "a": "<&>"},
        artifact_type="t",
        urls=["u"],
    )
    assert descriptor.to_bytes() == (
        b'{"mediaType":"m","size":3,"digest":"' + H.encode() + b'","urls":["u"],'
        b'"annotations":{"a":"\\u003c\\u0026\\u003e","z":"1"},"artifactType":"t"}'
    )


def test_parsed_bytes_are_kept_and_unknown_fields_survive() -> None:
    data = (
        b'{ "schemaVersion": 2, "config": %s, "layers": [], "x-extra": [1] }'
        % json.dumps(CONFIG).encode()
    )
    raw = parse_manifest(data, OCI_MANIFEST)
    assert raw.data == data
    assert raw.digest == digest_of(data)
    assert raw.media_type == OCI_MANIFEST
    assert raw.manifest.model_extra == {"x-extra": [1]}
    assert b'"x-extra":[1]' in raw.manifest.to_bytes()


def test_descriptor_of_manifest_has_artifact_type() -> None:
    manifest = ImageManifest(
        schema_version=2,
        media_type=OCI_MANIFEST,
        config=Descriptor.model_validate(CONFIG),
        layers=[],
        artifact_type="application/example",
    )
    raw = RawManifest.of(manifest)
    assert raw.descriptor().artifact_type == "application/example"
    plain = RawManifest.of(manifest.model_copy(update={"artifact_type": None}))
    assert plain.descriptor().artifact_type == CONFIG["mediaType"]
    index = RawManifest.of(ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=[]))
    assert index.is_index
    assert index.descriptor().artifact_type is None
    with pytest.raises(InputError):
        _ = index.manifest
    with pytest.raises(InputError):
        _ = raw.index


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (_doc(manifests=[], layers=[]), None, "manifest/index confusion"),
        (_doc(manifests=[], config=CONFIG), None, "manifest/index confusion"),
        (_doc(mediaType=OCI_INDEX, config=CONFIG, layers=[]), None, "must not have 'config'"),
        (_doc(mediaType=OCI_MANIFEST, manifests=[]), None, "must not have 'manifests'"),
        (_doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[]), OCI_INDEX, "disagrees"),
        (_doc(config=CONFIG, layers=[]), OCI_INDEX, "must not have 'config'"),
        (_doc(mediaType="application/x", config=CONFIG, layers=[]), None, "unsupported"),
        (
            json.dumps({"schemaVersion": 1, "config": CONFIG, "layers": []}).encode(),
            None,
            "schemaVersion",
        ),
        (b"[]", None, "not a JSON object"),
        (b"{", None, "not JSON"),
        (b"\xff", None, "not JSON"),
        (
            _doc(config=CONFIG, layers=[{"mediaType": "m", "size": -1, "digest": H}]),
            None,
            "greater than or equal",
        ),
        (
            _doc(config=CONFIG, layers=[{"mediaType": "m", "size": 1, "digest": "md5:x"}]),
            None,
            "malformed digest",
        ),
        (
            _doc(config=CONFIG, layers=[{"mediaType": "m", "size": "1", "digest": H}]),
            None,
            "valid integer",
        ),
        (_doc(config=CONFIG, layers=[], annotations={"a": 1}), None, "strings to strings"),
        (_doc(mediaType=5, config=CONFIG, layers=[]), None, "mediaType must be a string"),
    ],
)
def test_rejected_documents(data: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_manifest(data, content_type)


def test_field_path_in_errors() -> None:
    data = _doc(config=CONFIG, layers=[{"mediaType": "m", "size": 1, "digest": "x"}])
    with pytest.raises(InputError) as caught:
        parse_manifest(data)
    assert caught.value.field == "layers[0].digest"


def test_media_type_from_content_type_and_charset() -> None:
    data = _doc(config=CONFIG, layers=[])
    raw = parse_manifest(data, DOCKER_MANIFEST + "; charset=utf-8")
    assert raw.media_type == DOCKER_MANIFEST
    assert parse_manifest(data, "application/json").media_type == OCI_MANIFEST
    assert parse_manifest(_doc(manifests=[])).media_type == OCI_INDEX


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=15,
)


@given(_json, st.sampled_from([None, OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "text/plain"]))
def test_parser_never_crashes(value: object, content_type: str | None) -> None:
    data = json.dumps(value).encode()
    try:
        raw = parse_manifest(data, content_type)
    except InputError:
        return
    assert raw.data == data


@given(
    st.lists(
        st.builds(
            Descriptor,
            media_type=st.text(min_size=1, max_size=10),
            size=st.integers(min_value=0, max_value=2**40),
            digest=st.just(H),
            annotations=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5)),
        ),
        max_size=4,
    )
)
def test_written_manifests_parse_back_identically(layers: list[Descriptor]) -> None:
    manifest = ImageManifest(
        schema_version=2,
        media_type=OCI_MANIFEST,
        config=Descriptor.model_validate(CONFIG),
        layers=layers,
    )
    raw = RawManifest.of(manifest)
    again = parse_manifest(raw.data, OCI_MANIFEST)
    assert again.document.to_bytes() == raw.data
