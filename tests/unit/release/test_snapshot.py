"""Snapshot input: every accepted form, merging as Conforma, refusals with their field path."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.release import (
    UNNAMED,
    Component,
    GitSource,
    Snapshot,
    child_component_name,
    load_snapshot,
)
from konflux_supply.release.snapshot import original_component_name

DIGEST = "sha256:" + "12" * 32
SPEC: dict[str, Any] = {
    "application": "app1",
    "displayName": "App",
    "components": [
        {
            "name": "nodejs",
            "containerImage": "quay.io/org/app@" + DIGEST,
            "source": {
                "git": {
                    "url": "https://github.com/org/repo",
                    "revision": "abc",
                    "context": "./",
                    "dockerfileUrl": "Dockerfile",
                }
            },
        },
        {"name": "petclinic", "containerImage": "quay.io/org/pet:dc80a7f", "version": "v1"},
    ],
    "artifacts": {"unstableFields": {"x": 1}},
}


def test_spec_is_typed_and_round_trips() -> None:
    snapshot = Snapshot.from_dict(SPEC)
    assert snapshot.application == "app1"
    assert snapshot.display_name == "App"
    first = snapshot.components[0]
    assert first.git == GitSource("https://github.com/org/repo", "abc", "./", "Dockerfile")
    assert snapshot.components[1].extra == {"version": "v1"}
    assert snapshot.components[1].git is None
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot
    assert snapshot.to_dict()["components"][0] == SPEC["components"][0]


def test_resource_spec_is_unwrapped() -> None:
    resource = {"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "Snapshot", "spec": SPEC}
    assert Snapshot.from_dict(resource) == Snapshot.from_dict(SPEC)


def test_image_alone_is_an_unnamed_component() -> None:
    assert load_snapshot(image="quay.io/org/app:1") == Snapshot(
        components=(Component(name=UNNAMED, container_image="quay.io/org/app:1"),)
    )


def test_inputs_are_merged_without_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "images.yaml"
    path.write_text(
        "components:\n"
        "  - {name: '', containerImage: a}\n"
        "  - {name: b, containerImage: b}\n"
        "  - {name: b2, containerImage: b}\n"
    )
    inline = json.dumps(
        {
            "application": "app",
            "components": [
                {"name": "named-a", "containerImage": "a"},
                {"name": "c", "containerImage": "c"},
            ],
        }
    )
    snapshot = load_snapshot(images=[str(path), inline], image="b")
    assert [(c.name, c.container_image) for c in snapshot.components] == [
        ("named-a", "a"),  # an unnamed component takes the later name
        ("b", "b"),  # the first of a duplicate image wins; --image does not rename it
        ("c", "c"),
    ]
    assert snapshot.application == "app"


def test_unnamed_image_renamed_by_a_later_input() -> None:
    first = Snapshot.of_image("x")
    second = Snapshot.from_dict({"components": [{"name": "real", "containerImage": "x"}]})
    assert first.merge(second).components[0].name == "real"
    assert second.merge(first).components[0].name == "real"


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ([], "", "expected an object"),
        ({"components": {}}, "components", "expected an array"),
        ({"components": ["x"]}, "components[0]", "expected an object"),
        ({"components": [{"name": "a"}]}, "components[0].containerImage", "needs a containerImage"),
        ({"components": [{"containerImage": " "}]}, "components[0].containerImage", "not be empty"),
        ({"components": [{"containerImage": 1}]}, "components[0].containerImage", "string"),
        ({"components": [{"containerImage": "a", "name": 3}]}, "components[0].name", "string"),
        (
            {"components": [{"containerImage": "a", "source": {"git": {"url": 1}}}]},
            "components[0].source.git.url",
            "string",
        ),
        ({"components": [{"containerImage": "a", "source": []}]}, "components[0].source", "object"),
        ({"application": ["x"]}, "application", "expected a string"),
        ({"artifacts": "x"}, "artifacts", "expected an object"),
        ({"spec": {"components": [{}]}}, "spec.components[0].containerImage", "containerImage"),
        ({"spec": "x"}, "spec", "expected an object"),
    ],
)
def test_bad_snapshots_name_the_field(document: Any, field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        Snapshot.from_dict(document, source="snap.json")
    assert (info.value.field or "") == field


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="neither a Snapshot nor an image"):
        load_snapshot()
    with pytest.raises(InputError, match="no such file"):
        load_snapshot(images=[str(tmp_path / "missing.json")])
    with pytest.raises(InputError, match="empty"):
        load_snapshot(image="")
    with pytest.raises(InputError, match="more than once"):
        load_snapshot(images=['{"components": [], "components": []}'])
    big = tmp_path / "big.json"
    big.write_text(json.dumps(SPEC))
    with pytest.raises(InputError, match="larger than"):
        Snapshot.from_file(big, max_bytes=5)
    with pytest.raises(InputError, match="cannot read"):
        Snapshot.from_file(tmp_path)


def test_multi_arch_names() -> None:
    child = child_component_name("multi-arch-test", "sha256:" + "a1" * 32, "arm64", 0)
    assert child == "multi-arch-test-sha256:" + "a1" * 32 + "-arm64"
    assert original_component_name(child) == "multi-arch-test"
    noarch = child_component_name("c", "sha256:" + "a1" * 32, "", 3)
    assert noarch.endswith("-noarch-3")
    assert original_component_name(noarch) == "c"


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "spec",
                    "components",
                    "name",
                    "containerImage",
                    "source",
                    "git",
                    "url",
                    "application",
                    "artifacts",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=16,
)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_only_input_errors_escape(document: Any) -> None:
    try:
        snapshot = Snapshot.from_dict(document)
    except InputError:
        return
    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_only_input_errors_escape_from_text(data: bytes | str) -> None:
    with contextlib.suppress(InputError):
        Snapshot.from_text(data)


_component = st.fixed_dictionaries(
    {
        "name": st.text(max_size=6),
        "containerImage": st.text(min_size=1, max_size=10).filter(str.strip),
    },
    optional={
        "source": st.fixed_dictionaries(
            {
                "git": st.fixed_dictionaries(
                    {"url": st.text(max_size=5)}, optional={"revision": st.text(max_size=5)}
                )
            }
        )
    },
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_component, max_size=5), st.lists(_component, max_size=5))
def test_merge_keeps_one_component_per_image(a: list[Any], b: list[Any]) -> None:
    merged = (
        Snapshot()
        .merge(Snapshot.from_dict({"components": a}))
        .merge(Snapshot.from_dict({"components": b}))
    )
    images = [c.container_image for c in merged.components]
    assert len(images) == len(set(images))
    assert set(images) == {c["containerImage"] for c in a + b}


def test_component_source_is_always_an_object() -> None:
    # Conforma's policy input has "source": {} for a component without one.
    snapshot = Snapshot.from_dict({"components": [{"name": "a", "containerImage": "r/a"}]})
    assert snapshot.to_dict()["components"] == [
        {"name": "a", "containerImage": "r/a", "source": {}}
    ]
