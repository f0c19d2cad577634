"""``models.intoto``: strict, typed parsing of in-toto statements and SLSA predicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from konflux_supply import provenance
from konflux_supply.errors import InputError
from konflux_supply.models.intoto import ResourceDescriptor, Statement

RUN = yaml.safe_load(
    (
        Path(__file__).resolve().parents[2] / "fixtures/provenance/runs/taskrun-build-image.yaml"
    ).read_text()
)
DIGEST = {"sha256": "a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333"}


def minimal(**changes: Any) -> bytes:
    statement: dict[str, Any] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "quay.io/a/b", "digest": DIGEST}],
        "predicateType": "https://example.com/p",
        "predicate": {"x": 1},
    }
    statement.update(changes)
    return json.dumps(statement).encode()


@pytest.mark.parametrize("fmt", provenance.FORMATS)
def test_generated_statements_parse(fmt: str) -> None:
    generated = provenance.generate(RUN, format=fmt)
    model = Statement.from_json(generated.to_json())
    assert model.subject == generated.subject
    assert model.predicate == dict(generated.predicate)
    if fmt in ("in-toto", "slsa/v1"):
        v02 = model.slsa_v02()
        assert v02.build_type == "tekton.dev/v1/TaskRun"
        assert v02.materials[0].uri.startswith("oci://")
        assert v02.metadata is not None
        assert v02.metadata.build_started_on is not None
    else:
        v1 = model.slsa_v1()
        assert v1.build_definition.build_type == provenance.SLSA_BUILD_TYPE
        assert v1.run_details.builder.id == provenance.DEFAULT_BUILDER_ID
        for byproduct in v1.run_details.byproducts:
            json.loads(byproduct.content_bytes())


def test_unknown_fields_are_kept() -> None:
    model = Statement.from_json(
        minimal(extra={"a": 1}, subject=[{"name": "n", "digest": DIGEST, "x": 2}])
    )
    assert model.model_extra == {"extra": {"a": 1}}
    assert model.subject[0].model_extra == {"x": 2}


def test_models_are_frozen() -> None:
    model = Statement.from_json(minimal())
    with pytest.raises(ValueError, match="frozen"):
        model.predicate_type = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"\xff", None, "not a JSON document"),
        (b"[", None, "not a JSON document"),
        (b'{"_type": "a", "_type": "b"}', None, "duplicate JSON key '_type'"),
        (minimal(_type="https://in-toto.io/Statement/v2"), "_type", "Input should be"),
        (minimal(predicateType=""), "predicateType", "at least 1 character"),
        (minimal(predicateType=3), "predicateType", "valid string"),
        (minimal(subject={}), "subject", "valid array"),
        (minimal(subject=[{"name": 5, "digest": DIGEST}]), "subject[0].name", "valid string"),
        (
            minimal(subject=[{"name": "n", "digest": {"sha256": 1}}]),
            "subject[0].digest.sha256",
            "string",
        ),
        (
            minimal(subject=[{"name": "n", "digest": {"sha256": ""}}]),
            "subject[0].digest",
            "non-empty",
        ),
        (minimal(subject=[{"name": "n"}]), None, "subject[0] has no digest"),
        (
            minimal(subject=[{"name": "n", "digest": DIGEST, "content": "!!"}]),
            "subject[0].content",
            "base64",
        ),
        (minimal(predicate=[]), "predicate", "an object"),
    ],
)
def test_strict_errors_name_the_field(data: bytes, field: str | None, message: str) -> None:
    with pytest.raises(InputError) as raised:
        Statement.from_json(data, source="att.json")
    assert raised.value.field == field
    assert message in raised.value.message
    assert raised.value.source == "att.json"


def test_v01_subjects_need_names() -> None:
    data = minimal(_type="https://in-toto.io/Statement/v0.1", subject=[{"digest": DIGEST}])
    with pytest.raises(InputError, match="no name"):
        Statement.from_json(data)


def test_predicate_type_is_checked_before_parsing() -> None:
    with pytest.raises(InputError) as raised:
        Statement.from_json(minimal()).slsa_v1()
    assert raised.value.field == "predicateType"
    bad = minimal(predicateType="https://slsa.dev/provenance/v1", predicate={"buildDefinition": {}})
    with pytest.raises(InputError) as raised:
        Statement.from_json(bad).slsa_v1()
    assert raised.value.field == "predicate.buildDefinition.buildType"


def test_resource_descriptor_content() -> None:
    assert ResourceDescriptor(content="aGk=").content_bytes() == b"hi"
    assert ResourceDescriptor(content="aGk").content_bytes() == b"hi"
    assert ResourceDescriptor(content="-_8").content_bytes() == b"\xfb\xff"
    assert ResourceDescriptor().content_bytes() == b""


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_parser_is_total(data: bytes) -> None:
    try:
        Statement.from_json(data)
    except InputError as error:
        reason = error.message
    else:
        reason = "parsed"
    assert reason
