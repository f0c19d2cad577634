"""Our ``iri-reference`` regular expression accepts exactly what jsonschema's checker accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rfc3987_syntax import is_valid_syntax

from konflux_supply.sbom._iri import is_iri_reference

CORPUS = [
    "https://registry.example/npm/@babel/core/-/core-7.29.0.tgz",
    "git+https://github.com/org/repo@790b5812c1e83803a4df88be21e7d3ce92f37017",
    "https://user:pw@[2001:db8::1]:8443/p?q=1#f",
    "http://[::1]/",
    "http://[1:2:3:4:5:6:7::]/",
    "http://[1:2:3:4:5:6::8]/",
    "http://[1::2:3:4:5:6:7]/",
    "http://[::ffff:192.0.2.1]/",
    "http://[1:2:3:4:5:6:192.0.2.1]/",
    "http://[v1.fe80::a+en1]/",
    "http://[fe80::1%25en0]/",
    "http://192.168.0.256/",
    "http://例え.テスト/パス?クエリ#断片",
    "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
    "mailto:someone@example.com",
    "../relative/path?x",
    "//host.example/x",
    "#fragment",
    "",
    "a:b",
    "1a:b",
    "has space",
    "percent%zz",
    "percent%2F",
    "http://x/\ue000",
    "http://x/?\ue000",
    "http://x/\U0001f600",
    "http://x:port/",
    "http://[::1",
    "a b:c",
    "%41:b",
    "http://x/<>",
]


@pytest.mark.parametrize("value", CORPUS)
def test_corpus(value: str) -> None:
    assert is_iri_reference(value) == is_valid_syntax("iri_reference", value), value


_ALPHABET = st.sampled_from(
    [*"aZ09.-_~:/?#[]@!$&'()*+,;=% vfF", "\u00e9", "\u00a0", "\ue000", "\ufdd0", "\U0001f600"]
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=16))
def test_random_strings(value: str) -> None:
    assert is_iri_reference(value) == is_valid_syntax("iri_reference", value)


_SEGMENT = st.lists(st.sampled_from([*"ab9-._~%2F!:@é", "%41"]), max_size=5).map("".join)
_HOST = st.one_of(
    st.from_regex(r"[a-z]{1,5}(\.[a-z]{1,3}){0,2}", fullmatch=True),
    st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
    st.from_regex(r"\[[0-9a-f:]{2,20}\]", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["https://", "git+ssh://", "//", "", "x:"]),
    st.one_of(st.just(""), st.builds(lambda u: u + "@", _SEGMENT)),
    _HOST,
    st.one_of(st.just(""), st.from_regex(r":[0-9]{0,5}", fullmatch=True)),
    st.lists(_SEGMENT, max_size=3),
    st.one_of(st.just(""), st.builds(lambda q: "?" + q, _SEGMENT)),
)
def test_url_shaped_strings(
    scheme: str, user: str, host: str, port: str, path: list[str], query: str
) -> None:
    value = scheme + user + host + port + "".join("/" + p for p in path) + query
    assert is_iri_reference(value) == is_valid_syntax("iri_reference", value)
