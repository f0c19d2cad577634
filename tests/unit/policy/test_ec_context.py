"""The builtin context: picklable settings, per-context memo, recorded failures; the table."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply.errors import InputError, RegistryError
from konflux_supply.oci import Credentials, DockerConfig, RegistryOptions
from konflux_supply.policy import _ec_oci
from konflux_supply.policy.builtins import (
    BUILTIN_NAMES,
    BuiltinContext,
    BuiltinError,
    BuiltinLimits,
    make_builtins,
)

PEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
DIGEST_REF = "registry.invalid/app@sha256:" + "a" * 64


def test_the_table_has_every_builtin_with_its_arity() -> None:
    table = make_builtins(BuiltinContext())
    assert tuple(table) == BUILTIN_NAMES
    assert {name: nargs for name, (nargs, _) in table.items()} == {
        "ec.oci.blob": 1,
        "ec.oci.blob_files": 2,
        "ec.oci.descriptor": 1,
        "ec.oci.image_files": 2,
        "ec.oci.image_index": 1,
        "ec.oci.image_manifest": 1,
        "ec.oci.image_manifests": 1,
        "ec.oci.image_referrers": 1,
        "ec.oci.image_tag_refs": 1,
        "ec.oci.parsed_blob": 1,
        "ec.purl.is_valid": 1,
        "ec.purl.parse": 1,
        "ec.sigstore.verify_attestation": 2,
        "ec.sigstore.verify_image": 2,
    }


def test_pickles_to_settings_and_errors_only() -> None:
    ctx = BuiltinContext(
        registry=RegistryOptions(
            allow_http=True,
            credentials=DockerConfig({"auths": {"r.example": {"username": "u", "password": "p"}}}),
        ),
        limits=BuiltinLimits(max_blob_bytes=10),
        public_keys={"k8s://ns/key": PEM.encode()},
    )
    ctx.memo("x", ("a",), lambda: 1)
    ctx.record("ec.oci.blob", "r/x@sha256:1", "boom", "unavailable")
    ctx.pool()  # a live pool (connections are opened lazily, none yet)
    copy = pickle.loads(pickle.dumps(ctx))
    assert copy.registry.allow_http
    assert copy.limits.max_blob_bytes == 10
    assert copy.registry.credentials_for("r.example") == Credentials("u", "p")
    assert copy.public_keys == {"k8s://ns/key": PEM.encode()}
    assert copy.errors == [BuiltinError("ec.oci.blob", "r/x@sha256:1", "boom", "unavailable")]
    assert copy.unavailable == tuple(copy.errors)
    assert copy.memo("x", ("a",), lambda: 2) == 2  # the cache did not travel
    assert ctx.memo("x", ("a",), lambda: 2) == 1
    ctx.close()


def test_memo_keys_on_values_and_keeps_failures() -> None:
    ctx = BuiltinContext()
    calls: list[Any] = []

    def compute(value: Any) -> Any:
        calls.append(value)
        return None

    assert ctx.memo("f", ({"b", "a"},), lambda: compute(1)) is None
    assert ctx.memo("f", ({"a", "b"},), lambda: compute(2)) is None
    assert ctx.memo("f", ({"k": [1, {"z"}]},), lambda: compute(3)) is None
    assert ctx.memo("f", ({"k": [1, {"z"}]},), lambda: compute(4)) is None
    assert ctx.memo("g", ({"a", "b"},), lambda: compute(5)) is None
    assert calls == [1, 3, 5]


def test_a_registry_404_is_missing_anything_else_unavailable() -> None:
    ctx = BuiltinContext()
    ctx.record_registry("b", "r", RegistryError("gone", status=404))
    ctx.record_registry("b", "r", RegistryError("down", status=503))
    ctx.record_registry("b", "r", RegistryError("reset"))
    assert [e.kind for e in ctx.errors] == ["missing", "unavailable", "unavailable"]
    assert len(ctx.unavailable) == 2


@pytest.mark.parametrize("field", ["max_blob_bytes", "workers", "max_batch"])
@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_limits_must_be_positive_integers(field: str, value: Any) -> None:
    with pytest.raises(InputError):
        BuiltinLimits(**{field: value})


@pytest.mark.parametrize(
    "call",
    [
        ("ec.oci.blob", ("registry.invalid/app:tag",)),  # a blob needs a digest
        ("ec.oci.blob", (42,)),
        ("ec.oci.image_manifest", ("Not A Reference!",)),
        ("ec.oci.image_manifest", ("oci:/etc@sha256:" + "a" * 64,)),  # no local layouts
        ("ec.oci.image_files", (DIGEST_REF, "manifests")),  # paths must be an array
        ("ec.oci.image_files", ("registry.invalid/app:tag", ["manifests"])),
        ("ec.oci.blob_files", (DIGEST_REF, [1])),
        ("ec.oci.image_manifests", ("not a set",)),
        ("ec.oci.image_manifests", ({1, 2},)),
        ("ec.oci.image_manifests", ([{"a": 1}, "registry.invalid/x:y"],)),
        ("ec.oci.descriptor", (None,)),
    ],
)
def test_bad_arguments_are_undefined_not_recorded(call: tuple[str, tuple[Any, ...]]) -> None:
    """No network: each is refused before any request."""
    name, args = call
    ctx = BuiltinContext()
    function = make_builtins(ctx)[name][1]
    assert function(*args) is None
    assert ctx.errors == []


def test_an_empty_batch_is_an_empty_object() -> None:
    assert _ec_oci.image_manifests(BuiltinContext(), set()) == {}


def test_a_batch_over_the_limit_is_recorded() -> None:
    ctx = BuiltinContext(limits=BuiltinLimits(max_batch=2))
    refs = {f"registry.invalid/app:{n}" for n in range(3)}
    assert _ec_oci.image_manifests(ctx, refs) is None
    assert [e.kind for e in ctx.errors] == ["unavailable"]


@pytest.mark.parametrize(
    ("ref", "opts", "message"),
    [
        (DIGEST_REF, {"certificate_identity": "me", "certificate_oidc_issuer": "x"}, "keyless"),
        (DIGEST_REF, {"public_key": "k8s://ns/unknown"}, "neither inline PEM"),
        (DIGEST_REF, {}, "neither public_key nor a keyless identity"),
        (DIGEST_REF, "opts", "opts parameter"),
        ("registry.invalid/app:v1", {"public_key": PEM}, "not a digest reference"),
        (["x"], {"public_key": PEM}, "ref parameter"),
    ],
)
def test_sigstore_refusals_are_results_not_undefined(ref: Any, opts: Any, message: str) -> None:
    ctx = BuiltinContext()
    table = make_builtins(ctx)
    for name, key in (
        ("ec.sigstore.verify_image", "signatures"),
        ("ec.sigstore.verify_attestation", "attestations"),
    ):
        result = table[name][1](ref, opts)
        assert result["success"] is False
        assert result[key] == []
        assert len(result["errors"]) == 1
        assert message in result["errors"][0]
    assert ctx.errors == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
_DESCRIPTOR_KEYS = {"mediaType", "size", "digest", "data", "urls", "annotations", "artifactType"}


@given(
    st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {},
            optional={
                "config": _JSON,
                "layers": _JSON,
                "manifests": _JSON,
                "platform": _JSON,
                "annotations": _JSON,
                "subject": _JSON,
                "data": _JSON,
                "schemaVersion": _JSON,
            },
        ),
    )
)
def test_shapes_hold_for_any_json(doc: Any) -> None:
    """Whatever a registry serves, the Rego shapes keep their keys and types."""
    descriptor = _ec_oci.descriptor_term(doc)
    assert set(descriptor) - {"platform"} == _DESCRIPTOR_KEYS
    assert isinstance(descriptor["size"], int)
    assert all(isinstance(v, str) for v in descriptor["annotations"].values())
    if isinstance(doc, dict):
        manifest = _ec_oci.manifest_term(doc)
        assert {"schemaVersion", "mediaType", "config", "layers", "annotations"} <= set(manifest)
        assert all(set(layer) - {"platform"} == _DESCRIPTOR_KEYS for layer in manifest["layers"])
        index = _ec_oci.index_term(doc)
        assert isinstance(index["manifests"], list)
