"""The known-bad cases on the real OPA, for a result-by-result comparison with our engine.

OPA has no ``ec.*`` builtins, so a copy of ``policy/lib`` and ``policy/release`` (non-test
modules, made at run time in a temporary folder, never committed) has each ``ec.<ns>.<fn>(``
call routed to a Rego function of :data:`EC_STUB`, which answers from ``data`` what
:class:`~tests.conformance._conforma_fakes.FakeRegistry` answers in Python (nothing when
offline) and parses PURLs in Rego (enough for the PURLs the cases use). One ``opa eval`` runs
every case of one engine through a generated module (``x := ... with input as ...``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.conformance._conforma_fakes import FakeRegistry

_EC_CALL = re.compile(r"\bec\.(oci|sigstore|purl)\.([a-z_]+)\(")
_RUN_PACKAGE = "konflux_known_bad_run"

EC_STUB = """package konflux_known_bad_ec

import rego.v1

_r := data.konflux_known_bad_registry

oci_blob(ref) := _r.blobs[ref]

oci_blob_files(ref, _) := _r.none[ref]

oci_descriptor(ref) := _r.descriptors[ref]

oci_image_files(ref, _) := _r.none[ref]

oci_image_index(ref) := _r.none[ref]

oci_image_manifest(ref) := _r.manifests[ref]

oci_image_manifests(refs) := {r: m | some r in refs; m := _r.manifests[r]} if _r.online

oci_image_referrers(ref) := _r.referrers[ref]

oci_image_tag_refs(ref) := _r.none[ref]

oci_parsed_blob(ref) := _r.none[ref]

sigstore_verify_attestation(ref, _) := _r.attestations[ref]

sigstore_verify_image(ref, _) := _r.image_signatures[ref]

purl_is_valid(text) if purl_parse(text)

purl_parse(text) := purl if {
	startswith(text, "pkg:")
	parts := split(substring(text, 4, -1), "?")
	at := split(parts[0], "@")
	segments := split(at[0], "/")
	qualifiers := [{"key": kv[0], "value": urlquery.decode(kv[1])} |
		count(parts) > 1
		some pair in split(parts[1], "&")
		kv := split(pair, "=")
	]
	purl := {
		"type": segments[0],
		"namespace": concat("/", array.slice(segments, 1, count(segments) - 1)),
		"name": segments[count(segments) - 1],
		"version": concat("@", array.slice(at, 1, count(at))),
		"qualifiers": sort(qualifiers),
		"subpath": "",
	}
}
"""


def policy_tree(checkout: Path, into: Path) -> Path:
    """The non-test modules of ``policy/lib`` and ``policy/release`` with ``ec.*`` routed."""
    for tree in ("policy/lib", "policy/release"):
        for path in sorted((checkout / tree).rglob("*.rego")):
            if path.name.endswith("_test.rego"):
                continue
            target = into / path.relative_to(checkout)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = _EC_CALL.sub(r"data.konflux_known_bad_ec.\1_\2(", path.read_text())
            target.write_text(text)
    (into / "konflux_known_bad_ec.rego").write_text(EC_STUB)
    return into


def _run_module(queries: Mapping[str, tuple[str, str]]) -> str:
    """``results[id]`` = the package's ``deny``/``warn`` on ``data.…_inputs[<input name>]``."""
    lines = [f"package {_RUN_PACKAGE}", "", "import rego.v1", ""]
    for query_id, (package, name) in sorted(queries.items()):
        ref = f"data.{package}"
        lines += [
            f"results[{json.dumps(query_id)}] := r if {{",
            f"\tdoc := data.konflux_known_bad_inputs[{json.dumps(name)}]",
            f"\tdeny := [x | some x in {ref}.deny] with input as doc",
            f"\twarn := [x | some x in {ref}.warn] with input as doc",
            '\tr := {"deny": deny, "warn": warn}',
            "}",
            "",
        ]
    return "\n".join(lines)


def evaluate(
    opa: Path,
    tree: Path,
    data_dirs: Sequence[Path],
    work: Path,
    inputs: Mapping[str, Any],
    queries: Mapping[str, tuple[str, str]],
    *,
    rule_data: Mapping[str, Any] | None = None,
    registry: FakeRegistry | None = None,
) -> dict[str, dict[str, list[Any]]]:
    """``{query id: {"deny": [...], "warn": [...]}}`` from OPA, for ``queries`` as
    ``{query id: (package, input name)}`` over ``inputs`` (``{input name: input}``)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "run.rego").write_text(_run_module(queries))
    content: dict[str, Any] = {"none": {}, "online": registry is not None}
    if registry is not None:
        content.update(dataclasses.asdict(registry))
    extra: dict[str, Any] = {
        "konflux_known_bad_registry": content,
        "konflux_known_bad_inputs": dict(inputs),
    }
    if rule_data:
        extra["rule_data"] = dict(rule_data)
    (work / "extra.json").write_text(json.dumps(extra))
    command = [str(opa), "eval", "--format", "json", "-d", str(tree), "-d", str(work)]
    for folder in data_dirs:
        command += ["-d", str(folder)]
    command.append(f"data.{_RUN_PACKAGE}.results")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise AssertionError(f"opa eval failed: {done.stderr.strip()[:2000]}")
    answer = json.loads(done.stdout)
    value: dict[str, dict[str, list[Any]]] = answer["result"][0]["expressions"][0]["value"]
    return value
