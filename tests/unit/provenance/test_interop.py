"""Our statements parse with in-toto's own library (``in_toto_attestation``, protobuf-based).

What it can check:
* Statement v1 (``slsa/v2alpha3``, ``slsa/v2alpha4``): the bytes parse into its ``Statement``
  proto (unknown fields rejected), ``validate()`` accepts them whenever there is a subject, and
  the predicate parses strictly into its SLSA v1.0 ``Provenance`` proto (byproduct ``content``
  as bytes, timestamps as ``Timestamp``).
What it cannot check:
* Statement v0.1 / SLSA v0.2 (``in-toto``, ``slsa/v1``): the library has no v0.1 statement and
  no v0.2 predicate. The v0.1 layout is field-for-field the v1 proto, so the bytes still parse
  into it and every subject passes ``ResourceDescriptor.validate()``; ``Statement.validate()``
  is expected to reject only the ``_type`` URI. The v0.2 predicate is an opaque ``Struct`` there.
* Statements without subjects: Chains emits them (no artifact found); in-toto requires one, so
  ``validate()`` rejects them and we assert exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement

from konflux_supply import provenance

RUNS = Path(__file__).resolve().parents[3] / "fixtures" / "provenance" / "runs"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((RUNS / name).read_text())
    return data


def _statements() -> list[tuple[str, bytes]]:
    task_run = _load("taskrun-build-image.yaml")
    pipeline = _load("pipelinerun-build.yaml")
    children = [
        _load(n) for n in ("taskrun-clone.yaml", "taskrun-build-image.yaml", "taskrun-notify.yaml")
    ]
    no_subject = _load("taskrun-clone.yaml")
    out = []
    for fmt in provenance.FORMATS:
        out.append((fmt, provenance.generate(task_run, format=fmt).to_json()))
        for build_type in (None, provenance.TEKTON_BUILD_TYPE):
            statement = provenance.generate(
                pipeline, format=fmt, children=children, deep_inspection=True, build_type=build_type
            )
            out.append((fmt, statement.to_json()))
        out.append((fmt, provenance.generate(no_subject, format=fmt).to_json()))
    return out


@pytest.mark.parametrize(("fmt", "payload"), _statements())
def test_in_toto_attestation_parses_our_statements(fmt: str, payload: bytes) -> None:
    proto = json_format.Parse(payload, statement_pb2.Statement())
    statement = Statement.copy_from_pb(proto)
    for subject in proto.subject:
        ResourceDescriptor.copy_from_pb(subject).validate()
    if fmt in ("in-toto", "slsa/v1"):
        assert proto.type == "https://in-toto.io/Statement/v0.1"
        with pytest.raises(ValueError, match="Wrong statement type"):
            statement.validate()
        return
    if proto.subject:
        statement.validate()
    else:
        with pytest.raises(ValueError, match="At least one subject required"):
            statement.validate()
    predicate = json_format.ParseDict(json.loads(payload)["predicate"], provenance_pb2.Provenance())
    assert predicate.run_details.builder.id == provenance.DEFAULT_BUILDER_ID
    assert predicate.run_details.metadata.started_on.seconds > 0
    for byproduct in predicate.run_details.byproducts:
        json.loads(byproduct.content)
