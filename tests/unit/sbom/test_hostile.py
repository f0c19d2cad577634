"""Hostile input through every SBOM entry point: only typed errors, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from konflux_supply import sbom
from konflux_supply.cli import main
from konflux_supply.errors import InputError

from .helpers import IMAGE, bom, dumps

SUBJECT = sbom.image_component(IMAGE)


def _nested(depth: int, key: str = "components") -> dict[str, Any]:
    root: dict[str, Any] = {"type": "library", "name": "n0"}
    node = root
    for level in range(1, depth):
        child: dict[str, Any] = {"type": "library", "name": f"n{level}"}
        node[key] = [child]
        node = child
    return root


def _spdx(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.com/doc",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: x"]},
    }
    return doc | extra


# -- schema validation of deeply nested documents ---------------------------------------------


@pytest.mark.parametrize("key", ["components", "services"])
def test_schema_check_of_deep_nesting_is_an_input_error(key: str) -> None:
    nested = _nested(300, key) | ({"name": "s"} if key == "services" else {})
    doc = bom([]) | {key: [nested]}
    data = dumps(doc)
    assert sbom.validate(data, schema=False).ok  # parseable: only the schema walk is too deep
    with pytest.raises(InputError, match="nested too deeply") as caught:
        sbom.validate(data, schema=True, source="deep.json")
    assert caught.value.source == "deep.json"


def test_validate_cli_on_deep_nesting_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(dumps(bom([_nested(300)])))
    assert main(["sbom", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert f"{path}: " in err
    assert "nested too deeply" in err


# -- predicates of deeply nested documents ----------------------------------------------------


def test_predicate_of_a_deep_document_round_trips() -> None:
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    document = sbom.parse(dumps(bom(x=deep)))
    predicate_type, predicate = sbom.predicate(document)
    assert predicate == document.data
    assert predicate is not document.data
    assert sbom.parse_predicate(predicate_type, predicate).data == document.data
