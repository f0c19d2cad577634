"""A run parsed from YAML by hand may carry non-string keys; they are not field names."""

from __future__ import annotations

import pytest

from konflux_supply import provenance


@pytest.mark.parametrize("fmt", provenance.FORMATS)
def test_non_string_keys_in_a_spec_are_ignored_like_unknown_fields(fmt: str) -> None:
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": "x", "uid": "u"},
        "spec": {1: "x", 2.5: "y", None: "z"},
        "status": {"startTime": "2021-03-29T09:50:00Z", "completionTime": "2021-03-29T09:50:15Z"},
    }
    statement = provenance.generate(run, format=fmt)
    assert b'"1"' not in statement.to_json()
