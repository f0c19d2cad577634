"""The Rego parsers of policies/lib agree with reference parsers on generated inputs.

``data.supply.lib.sbom.parse_purl`` against packageurl-python; ``data.supply.lib.image.parse``
against a direct reading of the reference grammar (``repo[:tag][@digest]``).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from tests.unit.policies._helpers import new_engine

ENGINE = new_engine(tests=False)
_segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.@", min_size=1, max_size=12)
_name_segment = _segment.filter(lambda s: s not in {".", ".."})


def _call(function: str, argument: str) -> Any:
    value = json.loads(ENGINE.eval_query_as_json(f"x := {function}({json.dumps(argument)})"))
    results = value.get("result") or []
    return results[0]["bindings"]["x"] if results else None


@settings(max_examples=60, deadline=None)
@given(
    type_=st.sampled_from(["npm", "golang", "pypi", "maven", "oci", "rpm"]),
    namespace=st.one_of(st.none(), st.lists(_name_segment, min_size=1, max_size=3).map("/".join)),
    name=_name_segment,
    version=st.one_of(st.none(), st.text(alphabet="0123456789.v-+abc", min_size=1, max_size=10)),
    subpath=st.one_of(st.none(), st.lists(_name_segment, min_size=1, max_size=2).map("/".join)),
)
def test_parse_purl_agrees_with_packageurl(
    type_: str, namespace: str | None, name: str, version: str | None, subpath: str | None
) -> None:
    purl = PackageURL(type=type_, namespace=namespace, name=name, version=version, subpath=subpath)
    text = purl.to_string()
    parsed = PackageURL.from_string(text)
    ours = _call("data.supply.lib.sbom.parse_purl", text)
    assert ours is not None, text
    assert ours["type"] == parsed.type
    assert ours["namespace"] == (parsed.namespace or "")
    assert ours["name"] == parsed.name
    assert ours["version"] == (parsed.version or "")
    assert ours["subpath"] == (parsed.subpath or "")


_host = st.sampled_from(["registry.example", "localhost:5000", "quay.io", "10.0.0.1:8443"])
_path = st.lists(
    st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*", fullmatch=True), min_size=1, max_size=3
)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_digest = st.from_regex(r"sha256:[0-9a-f]{64}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    host=_host,
    path=_path,
    tag=st.one_of(st.none(), _tag),
    digest=st.one_of(st.none(), _digest),
)
def test_image_parse_reads_repo_tag_and_digest(
    host: str, path: list[str], tag: str | None, digest: str | None
) -> None:
    repo = f"{host}/{'/'.join(path)}"
    ref = repo + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    assert _call("data.supply.lib.image.parse", ref) == {
        "repo": repo,
        "tag": tag or "",
        "digest": digest or "",
    }
    assert _call("data.supply.lib.image.is_pinned", ref) is bool(digest)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=30))
def test_parsers_never_abort_on_arbitrary_strings(text: str) -> None:
    # a builtin error would abort the whole evaluation on regorus: parsers must be total
    for function in ("data.supply.lib.sbom.parse_purl", "data.supply.lib.image.parse"):
        _call(function, text)
    _call("data.supply.lib.time.parse_ns", text)


@settings(max_examples=80, deadline=None)
@given(
    year=st.integers(1899, 2101),
    month=st.integers(1, 12),
    day=st.integers(1, 31),
    offset=st.sampled_from(["Z", "+02:00", "-11:30", ".5Z"]),
)
def test_rfc3339_check_matches_the_calendar(year: int, month: int, day: int, offset: str) -> None:
    import datetime

    text = f"{year:04d}-{month:02d}-{day:02d}T12:30:00{offset}"
    try:
        datetime.date(year, month, day)
        real = True
    except ValueError:
        real = False
    parsed = _call("data.supply.lib.time.parse_ns", text)  # never aborts
    assert (parsed is not None) is real, text
