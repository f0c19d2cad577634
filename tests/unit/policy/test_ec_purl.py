"""``ec.purl.is_valid`` / ``ec.purl.parse``: Conforma's shapes, and no input makes them raise."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packageurl import PackageURL

from konflux_supply.policy import _ec_purl
from konflux_supply.policy.builtins import BuiltinContext, make_builtins
from tests.unit.policy._ec_helpers import engine_with, evaluate

SHAPE = {"type", "namespace", "name", "version", "qualifiers", "subpath"}


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        (
            "pkg:rpm/redhat/openssl@3.0.7-18.el9_2?distro=rhel-9.2&arch=x86_64",
            {
                "type": "rpm",
                "namespace": "redhat",
                "name": "openssl",
                "version": "3.0.7-18.el9_2",
                "qualifiers": [
                    {"key": "arch", "value": "x86_64"},
                    {"key": "distro", "value": "rhel-9.2"},
                ],
                "subpath": "",
            },
        ),
        (
            "pkg:oci/ubi-minimal@sha256%3Aabc?repository_url=registry.access.redhat.com/ubi9",
            {
                "type": "oci",
                "namespace": "",
                "name": "ubi-minimal",
                "version": "sha256:abc",
                "qualifiers": [
                    {"key": "repository_url", "value": "registry.access.redhat.com/ubi9"}
                ],
                "subpath": "",
            },
        ),
        (
            "pkg:npm/%40angular/core@16.0.0#lib/index.js",
            {
                "type": "npm",
                "namespace": "@angular",
                "name": "core",
                "version": "16.0.0",
                "qualifiers": [],
                "subpath": "lib/index.js",
            },
        ),
        (
            "pkg:golang/github.com/acme/tool@v1.2.3",
            {
                "type": "golang",
                "namespace": "github.com/acme",
                "name": "tool",
                "version": "v1.2.3",
                "qualifiers": [],
                "subpath": "",
            },
        ),
    ],
)
def test_parse_shapes(purl: str, expected: dict[str, Any]) -> None:
    assert _ec_purl.is_valid(purl) is True
    assert _ec_purl.parse(purl) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "pkg:",
        "pkg:rpm",
        "rpm/redhat/openssl",
        "http://example.com",
        "pkg:/",
        42,
        None,
        ["pkg:a/b"],
    ],
)
def test_invalid(bad: Any) -> None:
    assert _ec_purl.is_valid(bad) is False
    assert _ec_purl.parse(bad) is None


@given(st.one_of(st.text(max_size=80), st.text(alphabet="pkg:/@?#&=%.-_abcAB019", max_size=40)))
def test_never_raises_and_agrees(text: str) -> None:
    valid = _ec_purl.is_valid(text)
    parsed = _ec_purl.parse(text)
    assert valid is (parsed is not None)
    if parsed is not None:
        assert set(parsed) == SHAPE
        assert all(isinstance(parsed[k], str) for k in SHAPE - {"qualifiers"})
        keys = [q["key"] for q in parsed["qualifiers"]]
        assert keys == sorted(keys)
        assert all(isinstance(q["value"], str) and q["value"] for q in parsed["qualifiers"])


_SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_", min_size=1, max_size=12)


@given(
    type_=st.sampled_from(["rpm", "oci", "generic", "maven", "npm"]),
    namespace=st.one_of(st.none(), _SEGMENT),
    name=_SEGMENT.filter(lambda s: s not in (".", "..")),
    version=st.one_of(st.none(), _SEGMENT),
    qualifiers=st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),
        _SEGMENT,
        max_size=3,
    ),
)
def test_round_trip(
    type_: str, namespace: str | None, name: str, version: str | None, qualifiers: dict[str, str]
) -> None:
    if namespace in (".", ".."):
        namespace = None
    built = PackageURL(type_, namespace, name, version, qualifiers or None).to_string()
    parsed = _ec_purl.parse(built)
    assert parsed is not None
    again = PackageURL.from_string(built)
    assert parsed["name"] == again.name
    assert parsed["version"] == (version or "")
    assert {q["key"]: q["value"] for q in parsed["qualifiers"]} == qualifiers


def test_through_regorus() -> None:
    """Rego strings reach Python as ``str``; the object comes back with its list of objects."""
    engine = engine_with(make_builtins(BuiltinContext()))
    got = evaluate(
        engine,
        """package test

import rego.v1
import data.ec

valid := ec.purl.is_valid("pkg:rpm/redhat/bash@5.1?arch=x86_64")
invalid := ec.purl.is_valid("not a purl")
parsed := ec.purl.parse("pkg:rpm/redhat/bash@5.1?arch=x86_64")
arch := [q.value | some q in parsed.qualifiers; q.key == "arch"]
unparsed if not ec.purl.parse("pkg:")
""",
    )
    assert got["arch"] == ["x86_64"]
    assert (got["valid"], got["invalid"], got["unparsed"]) == (True, False, True)
